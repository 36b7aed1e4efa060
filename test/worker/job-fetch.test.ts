import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { COLLECT_QUEUE, JobQueue, jobId, QUEUE_SCHEMA } from "../../server/src/jobs/queue.js";
import { createLogger } from "../../server/src/logger.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

/** A queue consuming the collect queue of a database of its own, its log lines kept. */
function consumer(database: TestDatabase) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger("debug", {}, (line) => lines.push(JSON.parse(line)) > 0);
  const queue = new JobQueue({ executor: database.executor, pool: database.pool, logger });
  const handled: string[] = [];
  queue.work<{ deploymentId: string }>(
    COLLECT_QUEUE,
    async (job) => {
      handled.push(job.data.deploymentId);
    },
    { concurrency: 4, idlePollMs: 20 },
  );
  return { queue, lines, handled };
}

const opened: Array<{ queue: JobQueue; database: TestDatabase }> = [];
afterEach(async () => {
  for (const { queue, database } of opened.splice(0)) {
    await queue.stop({ timeoutMs: 1_000 });
    await database.close();
  }
});

describe("the job fetch's own transaction", () => {
  it("commits what it fetched: the job runs once and ends completed", async () => {
    const database = await createTestDatabase();
    const { queue, handled } = consumer(database);
    opened.push({ queue, database });
    const deploymentId = randomUUID();
    await queue.enqueueBaseline(database.executor, deploymentId);

    await expect.poll(() => handled, { timeout: 10_000 }).toEqual([deploymentId]);
    const state = async () => {
      const { rows } = await database.pool.query<{ state: string }>(
        `select state from ${QUEUE_SCHEMA}.job where id = $1
         union all select state from ${QUEUE_SCHEMA}.archive where id = $1`,
        [jobId("collect", deploymentId, "baseline", 0)],
      );
      return rows.map((row) => row.state);
    };
    await expect.poll(state, { timeout: 5_000 }).toEqual(["completed"]);
    // Every fetch returned its connection: none is checked out while the queue only polls.
    await expect.poll(() => database.pool.totalCount - database.pool.idleCount).toBe(0);
  });

  it("a fetch that fails for another reason than an outage is logged once a minute, and polling goes on", async () => {
    // No migrations: pg-boss's tables do not exist.
    const database = await createTestDatabase({ migrated: false });
    const { queue, lines, handled } = consumer(database);
    opened.push({ queue, database });

    await expect
      .poll(() => lines.filter((line) => line.msg === "job fetch failed; polling on"), { timeout: 5_000 })
      .toHaveLength(1);
    const [logged] = lines.filter((line) => line.msg === "job fetch failed; polling on");
    expect(logged).toMatchObject({ level: "warn", queue: COLLECT_QUEUE });
    expect(String(logged?.error)).toContain(`${QUEUE_SCHEMA}.job`);
    // Polls every 20 ms keep failing, and stay at one line.
    const failingBefore = await fetchesSoFar(database);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await fetchesSoFar(database)).toBeGreaterThan(failingBefore);
    expect(lines.filter((line) => line.msg === "job fetch failed; polling on")).toHaveLength(1);
    expect(handled).toEqual([]);
    expect(database.pool.waitingCount).toBe(0);
  });
});

/** Sessions PostgreSQL has started for this database: each failed fetch discards its connection. */
async function fetchesSoFar(database: TestDatabase): Promise<number> {
  const { rows } = await database.pool.query<{ sessions: string }>(
    "select sessions from pg_stat_database where datname = current_database()",
  );
  return Number(rows[0]?.sessions ?? 0);
}
