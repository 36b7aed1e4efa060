import dns from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";

export const FORBIDDEN_ADDRESS_CODE = "ERR_SEQPULSE_FORBIDDEN_ADDRESS";

export class ForbiddenAddressError extends Error {
  readonly code = FORBIDDEN_ADDRESS_CODE;

  constructor(
    readonly hostname: string,
    readonly address: string,
  ) {
    super(
      hostname === address
        ? `${address} is a private or reserved address`
        : `${hostname} resolves to private or reserved address ${address}`,
    );
    this.name = "ForbiddenAddressError";
  }
}

const blocked = new BlockList();
const v4Ranges: [string, number][] = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  // Multicast and reserved, including 255.255.255.255 broadcast.
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];
for (const [network, prefix] of v4Ranges) blocked.addSubnet(network, prefix, "ipv4");
const v6Ranges: [string, number][] = [
  ["::", 128],
  ["::1", 128],
  // NAT64 local-use prefix: the embedded IPv4 position depends on the operator's prefix length.
  ["64:ff9b:1::", 48],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
];
for (const [network, prefix] of v6Ranges) blocked.addSubnet(network, prefix, "ipv6");

function ipv6Hextets(ip: string): number[] {
  let text = ip;
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split(".").map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((h) => Number.parseInt(h, 16)));
  const [head = "", rest] = text.split("::");
  if (rest === undefined) return parse(head);
  const left = parse(head);
  const right = parse(rest);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function ipv4FromHextets(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/** IPv4 address carried inside an IPv6 one (mapped, compatible, SIIT, NAT64 well-known prefix, 6to4). */
function embeddedIPv4(hextets: number[]): string | null {
  const [h0, h1, h2, h3, h4, h5, h6 = 0, h7 = 0] = hextets;
  if (h0 === 0 && h1 === 0 && h2 === 0 && h3 === 0 && h4 === 0 && (h5 === 0 || h5 === 0xffff)) {
    return ipv4FromHextets(h6, h7);
  }
  // SIIT's IPv4-translated addresses, ::ffff:0:a.b.c.d (RFC 2765).
  if (h0 === 0 && h1 === 0 && h2 === 0 && h3 === 0 && h4 === 0xffff && h5 === 0) {
    return ipv4FromHextets(h6, h7);
  }
  if (h0 === 0x64 && h1 === 0xff9b && h2 === 0 && h3 === 0 && h4 === 0 && h5 === 0) {
    return ipv4FromHextets(h6, h7);
  }
  if (h0 === 0x2002) return ipv4FromHextets(h1 ?? 0, h2 ?? 0);
  return null;
}

/** True for loopback, private, link-local, CGNAT, multicast and reserved addresses; also for non-IP input. */
export function isForbiddenAddress(ip: string): boolean {
  const address = ip.replace(/%.*$/s, "");
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family !== 6) return true;
  if (blocked.check(address, "ipv6")) return true;
  const embedded = embeddedIPv4(ipv6Hextets(address));
  return embedded !== null && blocked.check(embedded, "ipv4");
}

/**
 * Refuses an IP-literal host up front: Node connects to literals without calling `lookup`.
 * `hostname` may carry the URL brackets of an IPv6 literal.
 */
export function checkLiteralHost(hostname: string, allowPrivate: boolean): ForbiddenAddressError | null {
  const host = hostname.replace(/^\[(.*)\]$/, "$1");
  if (allowPrivate || isIP(host) === 0 || !isForbiddenAddress(host)) return null;
  return new ForbiddenAddressError(host, host);
}

/**
 * A `lookup` for `http.request` that refuses hostnames resolving to a forbidden address. The check runs
 * on the addresses the socket is about to connect to, so a DNS rebinding after validation cannot slip by.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const forbidden = allowPrivate ? undefined : addresses.find((a) => isForbiddenAddress(a.address));
      if (forbidden) return callback(new ForbiddenAddressError(hostname, forbidden.address), []);
      const [first] = addresses;
      if (options.all) return callback(null, addresses);
      if (!first)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), []);
      callback(null, first.address, first.family);
    });
  };
}
