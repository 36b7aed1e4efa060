import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { z } from "zod";

/** What a path answers, one step per request; the last step repeats. */
export type ReceiverStep =
  | { status: number; body?: string; retryAfter?: string }
  /** Takes the request and never answers. */
  | { hang: true };

export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  time: number;
  /** The status written back, when the answer was sent in full; null when it never was. */
  answered: number | null;
  /** For signed paths: why the signature check failed, or null when it passed. */
  signatureProblem: string | null;
  /** For Slack-shaped paths: why the Block Kit message was refused, or null when valid. */
  blockKitProblem: string | null;
}

export interface PathSetup {
  steps: ReceiverStep[];
  /** Verify X-SeqPulse-Webhook-Signature with this secret, as a receiver following the README would. */
  secret?: string;
  /** Behave like a Slack incoming webhook: validate Block Kit, answer "ok" or 400 "invalid_blocks". */
  slack?: boolean;
}

export interface Receiver {
  url(path: string): string;
  setup(path: string, setup: PathSetup): void;
  /** Late-bound secret: the destination's secret is only known after it is created. */
  setSecret(path: string, secret: string): void;
  requestsTo(path: string): ReceivedRequest[];
  waitFor(
    path: string,
    predicate: (requests: ReceivedRequest[]) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

const MAX_SKEW_SECONDS = 300;

/** The check the README tells receivers to make; returns the problem, or null when the request is genuine. */
export function signatureProblem(
  headers: http.IncomingHttpHeaders,
  body: string,
  secret: string,
): string | null {
  const timestamp = String(headers["x-seqpulse-webhook-timestamp"] ?? "");
  const signature = String(headers["x-seqpulse-webhook-signature"] ?? "");
  if (!/^\d+$/.test(timestamp)) return "missing or malformed timestamp";
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS) return "timestamp too old";
  const expected = Buffer.from(
    `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`,
  );
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected) ? null : "bad signature";
}

const plainText = z.object({
  type: z.literal("plain_text"),
  text: z.string().min(1),
  emoji: z.boolean().optional(),
});
const mrkdwn = z.object({ type: z.literal("mrkdwn"), text: z.string().min(1).max(3000) });
const textObject = z.union([plainText, mrkdwn]);

/** Block Kit as Slack documents it, for the block types an incoming webhook message may use. */
export const BlockKitMessage = z
  .object({
    text: z.string().min(1).max(40_000),
    blocks: z
      .array(
        z.discriminatedUnion("type", [
          z
            .object({
              type: z.literal("header"),
              text: plainText.extend({ text: z.string().min(1).max(150) }),
            })
            .strict(),
          z
            .object({
              type: z.literal("section"),
              text: textObject.optional(),
              fields: z
                .array(textObject.and(z.object({ text: z.string().max(2000) })))
                .max(10)
                .optional(),
            })
            .strict()
            .refine(
              (block) => block.text !== undefined || block.fields !== undefined,
              "a section needs text or fields",
            ),
          z.object({ type: z.literal("context"), elements: z.array(textObject).min(1).max(10) }).strict(),
          z
            .object({
              type: z.literal("actions"),
              elements: z
                .array(
                  z
                    .object({
                      type: z.literal("button"),
                      text: plainText.extend({ text: z.string().min(1).max(75) }),
                      url: z.url().max(3000),
                      style: z.enum(["primary", "danger"]).optional(),
                    })
                    .strict(),
                )
                .min(1)
                .max(25),
            })
            .strict(),
          z.object({ type: z.literal("divider") }).strict(),
        ]),
      )
      .min(1)
      .max(50),
  })
  .strict();

/** A real HTTP receiver on 127.0.0.1 for webhook deliveries, scripted per path. */
export async function startReceiver(): Promise<Receiver> {
  const setups = new Map<string, PathSetup & { cursor: number }>();
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of waiters) waiter();
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://receiver.invalid").pathname;
      const body = Buffer.concat(chunks).toString("utf8");
      const setup = setups.get(path);
      const record: ReceivedRequest = {
        path,
        headers: req.headers,
        body,
        time: Date.now(),
        answered: null,
        signatureProblem: null,
        blockKitProblem: null,
      };
      requests.push(record);
      const answer = (status: number, text: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "Content-Type": "text/plain", ...headers });
        res.end(text, () => {
          record.answered = status;
          wake();
        });
      };
      if (!setup) return answer(404, "no such hook");
      if (setup.secret !== undefined) {
        record.signatureProblem = signatureProblem(req.headers, body, setup.secret);
        if (record.signatureProblem) return answer(401, record.signatureProblem);
      }
      if (setup.slack) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          record.blockKitProblem = "invalid_payload";
          return answer(400, "invalid_payload");
        }
        const message = BlockKitMessage.safeParse(parsed);
        if (!message.success) {
          record.blockKitProblem = message.error.issues
            .map((issue) => `${issue.path.join(".")}: ${issue.message}`)
            .join("; ");
          return answer(400, "invalid_blocks");
        }
      }
      const step = setup.steps[Math.min(setup.cursor, setup.steps.length - 1)] as ReceiverStep;
      setup.cursor++;
      wake();
      if ("hang" in step) return;
      answer(
        step.status,
        step.body ?? (step.status < 300 ? "ok" : "error"),
        step.retryAfter ? { "Retry-After": step.retryAfter } : {},
      );
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const requestsTo = (path: string) => requests.filter((request) => request.path === path);

  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    setup: (path, setup) => setups.set(path, { ...setup, cursor: 0 }),
    setSecret: (path, secret) => {
      const setup = setups.get(path);
      if (!setup) throw new Error(`${path} is not set up`);
      setup.secret = secret;
    },
    requestsTo,
    waitFor(path, predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const seen = requestsTo(path);
          if (!predicate(seen)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(seen);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `${path}: condition not met in ${timeoutMs} ms; got ${JSON.stringify(requestsTo(path).map((r) => ({ answered: r.answered, body: r.body.slice(0, 200) })))}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
