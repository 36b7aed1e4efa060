/**
 * Writes packages/types/metrics-payload.schema.json, the published JSON Schema of the metrics
 * contract, from the zod schema it is generated from, formatted as Biome wants it:
 *
 *     pnpm exec tsx test/evidence/write-metrics-schema.ts
 *
 * test/evidence/metrics-schema.test.ts fails while the committed file differs from the contract.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { metricsPayloadJsonSchema } from "@seqpulse/types";

const repository = fileURLToPath(new URL("../..", import.meta.url));
const schemaFile = fileURLToPath(
  new URL("../../packages/types/metrics-payload.schema.json", import.meta.url),
);

writeFileSync(schemaFile, `${JSON.stringify(metricsPayloadJsonSchema(), null, 2)}\n`);
execFileSync(
  fileURLToPath(new URL("../../node_modules/.bin/biome", import.meta.url)),
  ["format", "--write", schemaFile],
  {
    cwd: repository,
    stdio: "inherit",
  },
);
