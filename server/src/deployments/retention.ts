import { sql } from "drizzle-orm";
import type { Database } from "../db/client.js";

export interface RetentionOptions {
  /** Days a deployment's samples, failures and notification deliveries are kept, unless its project says otherwise. */
  defaultRetentionDays: number;
  /** Also delete the expired deployments themselves, with their verdicts. */
  deleteDeployments: boolean;
  /** Rows per statement: each batch holds its locks only briefly. */
  batchSize?: number;
  /** Pause between batches, so sampling's writes are never queued behind the sweep for long. */
  pauseMs?: number;
}

export interface RetentionResult {
  samples: number;
  failures: number;
  deliveries: number;
  deployments: number;
}

// A deployment is expired once it started longer ago than its project's retention; the last known
// good of an environment stays, since the engine may still compare new deployments with it.
const expiredDeployments = (defaultDays: number) => sql`
  select d.id from deployments d join projects p on p.id = d.project_id
  where d.state <> 'running'
    and d.started_at < now() - make_interval(days => coalesce(p.retention_days, ${defaultDays}))
    and not exists (select 1 from last_known_good l where l.deployment_id = d.id)`;

/**
 * Deletes what outlived the retention, in bounded batches. Returns how many rows of each kind
 * went; running it again finds nothing more.
 */
export async function sweepExpiredData(db: Database, options: RetentionOptions): Promise<RetentionResult> {
  const batch = options.batchSize ?? 1000;
  const expired = expiredDeployments(options.defaultRetentionDays);
  const deleteInBatches = async (table: string) => {
    let total = 0;
    for (;;) {
      const { rowCount } = await db.execute(sql`
        delete from ${sql.raw(table)} where ctid = any (array(
          select t.ctid from ${sql.raw(table)} t where t.deployment_id in (${expired}) limit ${batch}))`);
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) return total;
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  const result: RetentionResult = {
    samples: await deleteInBatches("metric_samples"),
    failures: await deleteInBatches("collection_failures"),
    deliveries: await deleteInBatches("notification_deliveries"),
    deployments: 0,
  };
  if (options.deleteDeployments) {
    for (;;) {
      const { rowCount } = await db.execute(sql`
        delete from deployments where id in (${expired} limit ${batch})`);
      result.deployments += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) break;
    }
  }
  return result;
}
