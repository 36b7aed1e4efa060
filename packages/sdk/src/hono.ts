import { performance } from "node:perf_hooks";
import type { MiddlewareHandler } from "hono";
import { collectorFrom, type SeqPulseMiddlewareOptions } from "./adapter.js";
import type { SeqPulseCollector } from "./collector.js";

export type { SeqPulseMiddlewareOptions } from "./adapter.js";

/**
 * Hono middleware; register it first: `app.use(seqpulseHono(options))`. A request is timed until
 * its handler returns its response (a streamed body may still be flowing).
 */
export function seqpulseHono(options?: SeqPulseMiddlewareOptions): MiddlewareHandler & {
  collector: SeqPulseCollector;
} {
  const { collector } = collectorFrom(options);
  const middleware: MiddlewareHandler = async (c, next) => {
    if (collector.isMetricsRequest(c.req.method, c.req.path)) {
      const answer = collector.handle({
        method: c.req.method,
        url: c.req.path,
        header: (name) => c.req.header(name),
      });
      return new Response(answer.body, { status: answer.status, headers: answer.headers });
    }
    const start = performance.now();
    await next();
    collector.record(c.res.status, performance.now() - start);
  };
  return Object.assign(middleware, { collector });
}
