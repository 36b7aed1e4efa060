import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { Asset } from "./assets.js";
import type { Viewer } from "./session.js";

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface PageShell {
  title: string;
  viewer?: Viewer;
  /** The viewer's CSRF token, for the sign-out form in the header. */
  csrf?: string;
  assets: Record<"css" | "js" | "uplotCss" | "uplotJs", Asset>;
  /** Pages with charts load uPlot. */
  charts?: boolean;
  /** Attributes of <main>: a live page polls itself for changes. */
  live?: { refreshMs: number; version: string } | undefined;
  body: Html;
}

export function page(shell: PageShell): Html {
  const { assets, viewer } = shell;
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="light dark" />
    <title>${shell.title} · SeqPulse</title>
    <link rel="stylesheet" href="${assets.css.href}" />
    ${shell.charts ? html`<link rel="stylesheet" href="${assets.uplotCss.href}" />` : ""}
    ${shell.charts ? html`<script src="${assets.uplotJs.href}" defer></script>` : ""}
    <script src="${assets.js.href}" defer></script>
  </head>
  <body>
    <a class="skip-link" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="/">SeqPulse</a>
      ${viewer ? navigation(viewer) : ""}
      ${
        viewer && shell.csrf
          ? html`<form class="sign-out" method="post" action="/sign-out">
              <input type="hidden" name="_csrf" value="${shell.csrf}" />
              <span class="who">${viewer.kind === "admin" ? "Admin" : viewer.project.name}</span>
              <button type="submit" class="button secondary">Sign out</button>
            </form>`
          : ""
      }
    </header>
    <main id="main" tabindex="-1" ${shell.live ? raw(liveAttributes(shell.live)) : ""}>${shell.body}</main>
    <p class="live-status visually-hidden" role="status" aria-live="polite"></p>
  </body>
</html>`;
}

function liveAttributes(live: { refreshMs: number; version: string }): string {
  return `data-live="true" data-refresh-ms="${live.refreshMs}" data-version="${escapeAttribute(live.version)}"`;
}

function escapeAttribute(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");
}

function navigation(viewer: Viewer): Html {
  return viewer.kind === "admin"
    ? html`<nav aria-label="Main"><a href="/">Projects</a></nav>`
    : html`<nav aria-label="Main">
        <a href="/projects/${viewer.project.id}">Deployments</a>
        <a href="/projects/${viewer.project.id}/notifications">Notifications</a>
      </nav>`;
}

/** An instant for people: UTC in the HTML, reformatted in the viewer's time zone by the script. */
export function time(value: string | Date | null | undefined): Html | string {
  if (value === null || value === undefined) return "—";
  const iso = typeof value === "string" ? value : value.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace("T", " ")} UTC</time>`;
}

export function badge(kind: string, text: string): Html {
  return html`<span class="badge badge-${kind}">${text}</span>`;
}

/** Only http(s) URLs become links: anything else (javascript:, data:) is shown as text. */
export function safeHttpUrl(value: unknown): string | null {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

export function link(url: string | null, text: string): Html | string {
  return url ? html`<a href="${url}" rel="noopener noreferrer">${text}</a>` : text;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return "—";
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60
    ? `${minutes} min ${seconds % 60} s`
    : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
