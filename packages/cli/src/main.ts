import { main } from "./cli.js";
import { processStreams } from "./output.js";

// The entry point of the bundle (dist/seqpulse.mjs).
main(process.argv.slice(2), process.env, processStreams).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A bug, not SeqPulse trouble nor a usage error: say so, with the stack, and exit 1.
    process.stderr.write(
      `seqpulse: unexpected error; please report it: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
