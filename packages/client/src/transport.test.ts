import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createSeqPulseClient } from "./client.js";
import { SeqPulseApiError, SeqPulseUnavailableError } from "./errors.js";
import { DEPLOYMENT_ID, deploymentDetail } from "./test-support/fixtures.js";

const API_KEY = "sp_test_key_0123456789";

/** A TCP server that answers the n-th connection with the n-th list of raw chunks, then closes it. */
async function rawServer(answers: Array<Array<string | Buffer>>): Promise<{ url: string; server: Server }> {
  let connections = 0;
  const server = createServer((socket: Socket) => {
    const chunks = answers[Math.min(connections++, answers.length - 1)] ?? [];
    socket.once("data", async () => {
      for (const chunk of chunks) {
        socket.write(chunk);
        // Separate TCP writes, so the client sees them as separate reads.
        await new Promise((done) => setTimeout(done, 20));
      }
      socket.destroy();
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

let open: Server | undefined;
afterEach(async () => {
  await new Promise((done) => (open ? open.close(done) : done(undefined)));
  open = undefined;
});

const client = (apiUrl: string, attempts = 3) =>
  createSeqPulseClient({ apiUrl, apiKey: API_KEY, retry: { attempts }, sleep: async () => {} });

describe("HTTP transport", () => {
  it("retries an answer cut off in the middle of its body", async () => {
    const body = JSON.stringify(deploymentDetail());
    const head = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const { url, server } = await rawServer([
      [head, body.slice(0, 40)],
      [head, body],
    ]);
    open = server;
    const result = await client(url).getDeployment(DEPLOYMENT_ID);
    expect(result).toMatchObject({ status: 200, attempts: 2, data: { id: DEPLOYMENT_ID } });
  });

  it("decodes UTF-8 split across reads", async () => {
    const body = Buffer.from(
      JSON.stringify({
        type: "about:blank",
        title: "Conflict",
        status: 409,
        code: "environment_busy",
        detail: "déploiement en cours",
      }),
    );
    const split = body.indexOf(Buffer.from("é")) + 1;
    const head = `HTTP/1.1 409 Conflict\r\ncontent-type: application/problem+json\r\ncontent-length: ${body.length}\r\n\r\n`;
    const { url, server } = await rawServer([[head, body.subarray(0, split), body.subarray(split)]]);
    open = server;
    const error = await client(url)
      .getDeployment(DEPLOYMENT_ID)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SeqPulseApiError);
    expect((error as SeqPulseApiError).detail).toBe("déploiement en cours");
  });

  it("speaks TLS to an https:// address", async () => {
    // A plain HTTP server: the TLS handshake fails, which shows that TLS was attempted.
    const { url, server } = await rawServer([["HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"]]);
    open = server;
    const error = await client(url.replace("http://", "https://"), 1)
      .getDeployment(DEPLOYMENT_ID)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SeqPulseUnavailableError);
    expect((error as Error).message).toMatch(/could not be reached.*(SSL|TLS|EPROTO)/i);
  });
});
