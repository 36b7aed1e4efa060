export type { SeqPulseMiddlewareOptions } from "./adapter.js";
export {
  createSeqPulse,
  DEFAULT_METRICS_PATH,
  type MetricsRequest,
  type MetricsResponse,
  SeqPulseCollector,
  type SeqPulseOptions,
} from "./collector.js";
export {
  canonicalPath,
  MAX_FUTURE_SKEW_MS,
  MAX_PAST_SKEW_MS,
  NONCE_TTL_MS,
  type SignatureCheck,
  type SignatureProblemCode,
  SignatureVerifier,
  type SignatureVerifierOptions,
  type SignedRequest,
} from "./hmac.js";
export { withSeqPulse } from "./node.js";
export type { BucketMetrics, CurrentMetrics, HistoryBucket, MetricsPayload } from "./payload.js";
export {
  type CgroupLocation,
  type ProcessStats,
  parseCpuMax,
  parseMemoryMax,
  type ResourceLimits,
  readResourceLimits,
} from "./resources.js";
