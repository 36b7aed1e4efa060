import { createSeqPulse, type SeqPulseCollector, type SeqPulseOptions } from "./collector.js";

/** Each middleware takes the collector's options, or a collector shared with other servers. */
export type SeqPulseMiddlewareOptions = SeqPulseOptions | { collector: SeqPulseCollector };

export function collectorFrom(options: SeqPulseMiddlewareOptions = {}): {
  collector: SeqPulseCollector;
  /** Whether the middleware made it, and so stops it when its server closes. */
  owned: boolean;
} {
  if ("collector" in options && options.collector !== undefined) {
    return { collector: options.collector, owned: false };
  }
  return { collector: createSeqPulse(options as SeqPulseOptions), owned: true };
}
