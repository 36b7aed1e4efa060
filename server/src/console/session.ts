import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Project } from "../db/schema/index.js";

export const SESSION_COOKIE = "seqpulse_session";
/** Anonymous visitors' CSRF nonce, for the sign-in form. */
export const VISITOR_COOKIE = "seqpulse_visitor";
export const SESSION_TTL_SECONDS = 12 * 3600;
const SECRET_FILE = "session-secret";

/** Who a signed-in browser acts as. */
export type Viewer = { kind: "admin" } | { kind: "project"; project: Project };

interface SessionClaims {
  v: 1;
  /** "admin", or the project's id. */
  sub: string;
  /** Binds the session to the credential: a rotated key or admin token ends it. */
  cred: string;
  /** Random per sign-in; the CSRF token is derived from it. */
  nonce: string;
  exp: number;
}

/**
 * Signs and checks console cookies with the server's session secret (HMAC-SHA256). Cookies are
 * signed, not encrypted: they hold no credential, only ids and digests keyed with the secret.
 */
export class SessionKeys {
  readonly #secret: Buffer;

  constructor(secret: string) {
    this.#secret = Buffer.from(secret, "utf8");
  }

  #mac(purpose: string, value: string): string {
    return createHmac("sha256", this.#secret).update(`${purpose}\n${value}`).digest("base64url");
  }

  #sign(purpose: string, value: string): string {
    return `${value}.${this.#mac(purpose, value)}`;
  }

  #verify(purpose: string, signed: string | undefined): string | undefined {
    if (!signed) return undefined;
    const dot = signed.lastIndexOf(".");
    if (dot <= 0) return undefined;
    const value = signed.slice(0, dot);
    const given = Buffer.from(signed.slice(dot + 1));
    const expected = Buffer.from(this.#mac(purpose, value));
    return given.length === expected.length && timingSafeEqual(given, expected) ? value : undefined;
  }

  /** A digest of the credential's stored hash: changes when the key or token changes, reveals neither. */
  credentialTag(credentialHash: string): string {
    return this.#mac("credential", credentialHash).slice(0, 22);
  }

  issue(subject: string, credentialHash: string, now = Date.now()): string {
    const claims: SessionClaims = {
      v: 1,
      sub: subject,
      cred: this.credentialTag(credentialHash),
      nonce: randomBytes(16).toString("base64url"),
      exp: Math.floor(now / 1000) + SESSION_TTL_SECONDS,
    };
    return this.#sign("session", Buffer.from(JSON.stringify(claims)).toString("base64url"));
  }

  read(cookie: string | undefined, now = Date.now()): SessionClaims | undefined {
    const value = this.#verify("session", cookie);
    if (!value) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as SessionClaims;
      if (claims.v !== 1 || typeof claims.sub !== "string" || claims.exp * 1000 <= now) return undefined;
      return claims;
    } catch {
      return undefined;
    }
  }

  newVisitor(): string {
    return this.#sign("visitor", randomBytes(16).toString("base64url"));
  }

  visitorNonce(cookie: string | undefined): string | undefined {
    return this.#verify("visitor", cookie);
  }

  /** The token every form carries, bound to the session (or visitor) nonce. */
  csrfToken(nonce: string): string {
    return this.#mac("csrf", nonce);
  }

  csrfMatches(nonce: string, token: unknown): boolean {
    if (typeof token !== "string") return false;
    const given = Buffer.from(token);
    const expected = Buffer.from(this.csrfToken(nonce));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/**
 * SEQPULSE_SESSION_SECRET, or one generated on first start and kept in the data folder, so that
 * sessions survive a restart. Several API processes need the variable set to the same value.
 */
export async function loadSessionSecret(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) return configured;
  const file = join(dataDir, SECRET_FILE);
  const stored = await readFile(file, "utf8").catch(() => undefined);
  if (stored && stored.trim().length >= 32) return stored.trim();
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: "w" });
  return secret;
}

/** HTTPS as the browser sees it: the request itself, or a TLS-terminating proxy in front. */
export function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
}

export function setConsoleCookie(c: Context, name: string, value: string, maxAgeSeconds: number): void {
  setCookie(c, name, value, {
    httpOnly: true,
    secure: isHttps(c),
    sameSite: "Strict",
    path: "/",
    maxAge: maxAgeSeconds,
  });
}

export function clearConsoleCookie(c: Context, name: string): void {
  deleteCookie(c, name, { path: "/", secure: isHttps(c), httpOnly: true, sameSite: "Strict" });
}

export const readCookie = (c: Context, name: string) => getCookie(c, name);
