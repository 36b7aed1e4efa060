import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import {
  checkLiteralHost,
  FORBIDDEN_ADDRESS_CODE,
  guardedLookup,
  isForbiddenAddress,
} from "./address-guard.js";

describe("isForbiddenAddress", () => {
  it.each([
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.0.1",
    "100.64.0.1",
    "100.127.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "::1",
    "::",
    "0:0:0:0:0:0:0:1",
    "fc00::1",
    "fd12:3456:789a::1",
    "fe80::1",
    "fe80::1%eth0",
    "febf::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    // SIIT (IPv4-translated, ::ffff:0:0/96)
    "::ffff:0:127.0.0.1",
    "::ffff:0:7f00:1",
    "::ffff:0:a9fe:a9fe",
    "0:0:0:0:ffff:0:10.0.0.1",
    "64:ff9b::127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::1",
    "2002:7f00:1::1",
    "2002:a9fe:a9fe::",
    "not-an-ip",
    "",
  ])("forbids %s", (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "172.15.255.255",
    "172.32.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "169.255.0.1",
    "223.255.255.255",
    "2606:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "::ffff:0:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",
  ])("allows %s", (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });
});

describe("checkLiteralHost", () => {
  it("refuses forbidden IP literals, bracketed IPv6 included", () => {
    expect(checkLiteralHost("127.0.0.1", false)?.code).toBe(FORBIDDEN_ADDRESS_CODE);
    expect(checkLiteralHost("[::1]", false)?.code).toBe(FORBIDDEN_ADDRESS_CODE);
  });

  it("leaves hostnames to the lookup, and allows everything when private endpoints are allowed", () => {
    expect(checkLiteralHost("localhost", false)).toBeNull();
    expect(checkLiteralHost("8.8.8.8", false)).toBeNull();
    expect(checkLiteralHost("127.0.0.1", true)).toBeNull();
  });
});

function lookup(allowPrivate: boolean, hostname: string, options: { all?: boolean; family?: number }) {
  return new Promise<{
    err: NodeJS.ErrnoException | null;
    address: string | LookupAddress[];
    family?: number;
  }>((resolve) => {
    guardedLookup(allowPrivate)(hostname, options, (err, address, family) =>
      resolve({ err, address, family }),
    );
  });
}

describe("guardedLookup", () => {
  it("refuses a hostname resolving to loopback, in both callback shapes", async () => {
    for (const options of [{}, { all: true }]) {
      const { err } = await lookup(false, "localhost", options);
      expect(err?.code).toBe(FORBIDDEN_ADDRESS_CODE);
      expect(err?.message).toContain("127.0.0.1");
    }
  });

  it("resolves normally when private endpoints are allowed", async () => {
    expect(await lookup(true, "localhost", { family: 4 })).toEqual({
      err: null,
      address: "127.0.0.1",
      family: 4,
    });
    const all = await lookup(true, "localhost", { all: true, family: 4 });
    expect(all.address).toEqual([{ address: "127.0.0.1", family: 4 }]);
  });
});
