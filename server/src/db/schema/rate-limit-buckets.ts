import { doublePrecision, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Token buckets shared by every API process: one row per limited key (an API key, a client
 * address). `tokens` is the balance at `updated_at`; the refill is computed when it is read.
 */
export const rateLimitBuckets = pgTable("rate_limit_buckets", {
  key: text("key").primaryKey(),
  tokens: doublePrecision("tokens").notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull(),
});
