import type { IncomingMessage, ServerResponse } from "node:http";
import { collectorFrom, type SeqPulseMiddlewareOptions } from "./adapter.js";
import type { SeqPulseCollector } from "./collector.js";
import { nodeTracker } from "./node.js";

export type { SeqPulseMiddlewareOptions } from "./adapter.js";

/** Express (4 and 5) middleware; put it first: `app.use(seqpulseExpress(options))`. */
export function seqpulseExpress(
  options?: SeqPulseMiddlewareOptions,
): ((
  request: IncomingMessage & { originalUrl?: string },
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void) & { collector: SeqPulseCollector } {
  const { collector } = collectorFrom(options);
  const tracker = nodeTracker(collector);
  const middleware = (
    request: IncomingMessage & { originalUrl?: string },
    response: ServerResponse,
    next: (error?: unknown) => void,
  ) => {
    // Under app.use("/prefix", …) Express shortens req.url; SeqPulse signed the full path.
    const url = request.url ?? "/";
    if (!tracker.handle(request, response, url, request.originalUrl ?? url)) next();
  };
  return Object.assign(middleware, { collector });
}
