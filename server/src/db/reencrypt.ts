import { eq } from "drizzle-orm";
import type { Database } from "./client.js";
import { notificationDestinations, projects } from "./schema/index.js";

export interface ReencryptionResult {
  projects: number;
  destinations: number;
}

/**
 * Rewrites every stored secret under the current encryption key (reading it with whichever
 * configured key it was written with, or as plain text from before encryption), one row at a
 * time, so a key rotation needs no downtime: processes with both keys configured read either.
 */
export async function reencryptSecrets(db: Database): Promise<ReencryptionResult> {
  const result: ReencryptionResult = { projects: 0, destinations: 0 };
  const projectRows = await db
    .select({
      id: projects.id,
      hmacSecret: projects.hmacSecret,
      previousHmacSecret: projects.previousHmacSecret,
      metricsSource: projects.metricsSource,
    })
    .from(projects);
  for (const row of projectRows) {
    // Writing the decrypted values back encrypts them with the current key.
    await db
      .update(projects)
      .set({
        hmacSecret: row.hmacSecret,
        previousHmacSecret: row.previousHmacSecret,
        metricsSource: row.metricsSource,
      })
      .where(eq(projects.id, row.id));
    result.projects++;
  }
  const destinationRows = await db
    .select({
      id: notificationDestinations.id,
      url: notificationDestinations.url,
      secret: notificationDestinations.secret,
    })
    .from(notificationDestinations);
  for (const row of destinationRows) {
    await db
      .update(notificationDestinations)
      .set({ url: row.url, secret: row.secret })
      .where(eq(notificationDestinations.id, row.id));
    result.destinations++;
  }
  return result;
}
