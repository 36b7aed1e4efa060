import dns from "node:dns";
import { isIP } from "node:net";
import { AppError } from "../errors.js";
import { checkLiteralHost, isForbiddenAddress } from "../sampling/address-guard.js";

/** Resolves a hostname to its addresses; injected so that tests never resolve outside names. */
export type HostResolver = (hostname: string) => Promise<string[]>;

export const systemResolver: HostResolver = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true })).map((entry) => entry.address);

/** A trigger does not wait longer than this on DNS; an unanswered lookup is left to the collector. */
const RESOLVE_TIMEOUT_MS = 1_000;

export interface EndpointPolicy {
  allowPrivate: boolean;
  resolveHost: HostResolver;
}

/**
 * Refuses a metrics endpoint the collector is certain to refuse: a literal private or loopback
 * address, or a hostname whose every address is one. A lookup that fails or times out proves
 * nothing, so it passes; the connect-time guard still checks every fetch.
 */
export async function assertEndpointSampleable(endpoint: string, policy: EndpointPolicy): Promise<void> {
  if (policy.allowPrivate) return;
  const hostname = new URL(endpoint).hostname;
  const literal = checkLiteralHost(hostname, false);
  if (literal) throw endpointPrivate(endpoint, literal.message);
  if (isIP(hostname.replace(/^\[(.*)\]$/, "$1")) !== 0) return;
  const addresses = await resolveWithin(policy.resolveHost, hostname);
  if (addresses && addresses.length > 0 && addresses.every((address) => isForbiddenAddress(address))) {
    throw endpointPrivate(
      endpoint,
      `${hostname} resolves only to private or reserved addresses (${addresses.join(", ")})`,
    );
  }
}

async function resolveWithin(resolve: HostResolver, hostname: string): Promise<string[] | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((done) => {
    timer = setTimeout(() => done(undefined), RESOLVE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([resolve(hostname).catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function endpointPrivate(endpoint: string, why: string): AppError {
  return new AppError(
    "metrics_endpoint_private",
    `metrics endpoint ${endpoint}: ${why}; SeqPulse does not sample private addresses unless the server runs with SEQPULSE_ALLOW_PRIVATE_ENDPOINTS=true`,
    { errors: [{ path: "metrics_endpoint", message: why }] },
  );
}
