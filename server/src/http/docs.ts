import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import type { AppEnv } from "./context.js";
import { openapiRoute, problemResponses, textResponse } from "./openapi.js";
import { routeNotFound } from "./problem.js";

/**
 * The API reference page: Swagger UI, served from the swagger-ui-dist package by this server, so
 * the page works without internet access. Its Content-Security-Policy lets it load and contact
 * nothing but this server.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets inline styles on its elements.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

// Relative URLs, so that the page also works behind a proxy that mounts SeqPulse under a path.
const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>SeqPulse API reference</title>
    <link rel="stylesheet" href="docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="docs/swagger-ui-bundle.js"></script>
    <script src="docs/start.js"></script>
  </body>
</html>
`;

// validatorUrl: null keeps Swagger UI from sending the document to its public validator.
const START_SCRIPT = `window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});
`;

const assetTypes = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "start.js": "text/javascript; charset=utf-8",
} as const;
type AssetName = keyof typeof assetTypes;
const assetNames = Object.keys(assetTypes) as [AssetName, ...AssetName[]];

const require = createRequire(import.meta.url);
const assetCache = new Map<AssetName, string>();
function asset(name: AssetName): string {
  let content = assetCache.get(name);
  if (content === undefined) {
    content =
      name === "start.js" ? START_SCRIPT : readFileSync(require.resolve(`swagger-ui-dist/${name}`), "utf8");
    assetCache.set(name, content);
  }
  return content;
}

const docsRoute = createRoute({
  method: "get",
  path: "/docs",
  tags: ["Documentation"],
  operationId: "docsPage",
  summary: "The API reference, rendered from /openapi.json",
  responses: {
    200: textResponse("An HTML page.", ["text/html"]),
    ...problemResponses([]),
  },
});

const docsAssetRoute = createRoute({
  method: "get",
  path: "/docs/{asset}",
  tags: ["Documentation"],
  operationId: "docsAsset",
  summary: "A script or stylesheet of the API reference page",
  request: { params: z.object({ asset: z.enum(assetNames) }) },
  responses: {
    200: textResponse("The file.", ["text/css", "text/javascript"]),
    ...problemResponses(["not_found"]),
  },
});

export function registerDocs(app: OpenAPIHono<AppEnv>): void {
  openapiRoute(app, docsRoute, (c) =>
    c.html(PAGE, 200, { "Content-Security-Policy": CONTENT_SECURITY_POLICY }),
  );
  openapiRoute(app, docsAssetRoute, (c) => {
    const name = c.req.param("asset") as AssetName;
    if (!Object.hasOwn(assetTypes, name)) throw routeNotFound(c);
    return c.body(asset(name), 200, {
      "Content-Type": assetTypes[name],
      "Cache-Control": "public, max-age=3600",
    });
  });
}
