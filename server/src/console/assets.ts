import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export interface Asset {
  /** Path with a content hash, so the file can be cached for good. */
  href: string;
  contentType: string;
  body: Buffer;
}

const require = createRequire(import.meta.url);

function load(name: string, file: string | URL, contentType: string): [string, Asset] {
  const body = readFileSync(file);
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  return [name, { href: `/assets/${name}?v=${hash}`, contentType, body }];
}

/** The console's own script and styles, and uPlot from its npm package: nothing from a CDN. */
export function loadAssets() {
  const entries = [
    load("console.css", new URL("./assets/console.css", import.meta.url), "text/css; charset=utf-8"),
    load("console.js", new URL("./assets/console.js", import.meta.url), "text/javascript; charset=utf-8"),
    load("uplot.css", require.resolve("uplot/dist/uPlot.min.css"), "text/css; charset=utf-8"),
    load("uplot.js", require.resolve("uplot/dist/uPlot.iife.min.js"), "text/javascript; charset=utf-8"),
  ];
  const byName = new Map(entries);
  const get = (name: string) => byName.get(name) as Asset;
  return {
    byName,
    shell: {
      css: get("console.css"),
      js: get("console.js"),
      uplotCss: get("uplot.css"),
      uplotJs: get("uplot.js"),
    },
  };
}

export type Assets = ReturnType<typeof loadAssets>;
