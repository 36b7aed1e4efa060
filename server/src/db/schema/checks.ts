import { type SQL, sql } from "drizzle-orm";

/** `<column> in ('a', 'b')` from one of the enums in @seqpulse/types, so the CHECK and the enum cannot drift. */
export function oneOf(column: SQL | unknown, values: readonly string[]): SQL {
  return sql`${column} in (${sql.raw(values.map((value) => `'${value.replaceAll("'", "''")}'`).join(", "))})`;
}
