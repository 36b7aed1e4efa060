import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { collectorFrom, type SeqPulseMiddlewareOptions } from "./adapter.js";
import type { SeqPulseCollector } from "./collector.js";

const requestStart = Symbol("seqpulse.requestStart");

interface TimedResponse extends ServerResponse {
  [requestStart]?: number;
}

/**
 * Answers metrics requests and times the others on `node:http` objects (plain servers, Express,
 * Koa's callback, …). A request is timed from here to the response's `finish`; a response the
 * client aborted before it was sent is not counted.
 */
export function nodeTracker(collector: SeqPulseCollector) {
  function onFinish(this: TimedResponse): void {
    collector.record(this.statusCode, performance.now() - (this[requestStart] as number));
  }
  return {
    /**
     * Answers the request when it is for the metrics path and returns true; otherwise starts timing
     * it and returns false. `signedUrl` is the path SeqPulse requested, when a router shortened `url`.
     */
    handle(request: IncomingMessage, response: ServerResponse, url: string, signedUrl: string): boolean {
      if (collector.isMetricsRequest(request.method ?? "", url)) {
        const answer = collector.handle({
          method: request.method ?? "GET",
          url: signedUrl,
          header: (name) => {
            const value = request.headers[name];
            return Array.isArray(value) ? value[0] : value;
          },
        });
        response.writeHead(answer.status, answer.headers).end(answer.body);
        return true;
      }
      (response as TimedResponse)[requestStart] = performance.now();
      response.on("finish", onFinish);
      return false;
    },
  };
}

/**
 * Wraps a `node:http` request listener: `http.createServer(withSeqPulse(listener, options))`.
 * The returned listener has the collector as `.collector`.
 */
export function withSeqPulse(
  listener: RequestListener,
  options?: SeqPulseMiddlewareOptions,
): RequestListener & { collector: SeqPulseCollector } {
  const { collector } = collectorFrom(options);
  const tracker = nodeTracker(collector);
  const wrapped = (request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? "/";
    if (!tracker.handle(request, response, url, url)) listener(request, response);
  };
  return Object.assign(wrapped, { collector });
}
