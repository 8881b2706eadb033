import type { Connection } from '../connection/connection.js';
import { SyncJobError } from './sync-job-errors.js';
import type { SyncJobPlan } from './sync-job-options.js';
import { encodeCheckpointValue, encodeWatermark } from './sync-state-codec.js';
import type { CheckpointAdvance, StoredCheckpoint } from './sync-state.js';

/**
 * How a page reads and compares a date watermark at the column's full precision. A JS Date
 * keeps milliseconds, but PostgreSQL and MySQL/MariaDB keep microseconds and SQLite compares
 * its stored text: a cursor made of the Date would sort before the row it came from, and
 * rows would be read again. So the page also selects the database's own text of the
 * watermark (`select`), the checkpoint keeps it, and the next page binds it back (`after`,
 * bindings: text, text, text, last key), which the server compares as the column's type.
 */
export interface ExactWatermark {
  readonly select: string;
  readonly after: string;
}

/** The SQL of {@link ExactWatermark} on the source's connection; undefined for number, bigint and string watermarks, which JS holds exactly. */
export function exactWatermarkSql(plan: SyncJobPlan, source: Connection): ExactWatermark | undefined {
  const { type, column } = plan.watermark;
  if (type !== 'datetime' && type !== 'date') return undefined;
  const { knex } = source;
  const [wm, pk] = [column, plan.primaryKey.column].map((name) => knex.raw('??', [name]).toQuery());
  // The leading `wm >= ?` lets every database start its index range at the cursor, as whereAfter() does.
  // Under a name of its own: PostgreSQL would read `ORDER BY updated_at` as ambiguous beside an `updated_at::text` column.
  const select = `${knex.raw(source.dialect.exactDateText, [column]).toQuery()} as ${knex.raw('??', ['pr_exact_watermark']).toQuery()}`;
  return { select, after: `${wm} >= ? and (${wm} > ? or (${wm} = ? and ${pk} > ?))` };
}

/** The exact text read for a page's last row; anything but text (a number in an SQLite date column) cannot be compared as the column's type. */
export function exactText(plan: SyncJobPlan, value: unknown, key: unknown): string {
  if (typeof value === 'string') return value;
  throw new SyncJobError(
    plan.name,
    `${plan.sourceMeta.name}.${plan.watermark.property} of ${plan.primaryKey.property}=${String(key)} is stored as ${typeof value} ${String(value)}, not as a date the database gives as text: paging by it could skip or repeat rows`,
  );
}

/**
 * A batch must end after the checkpoint it started from, or paging would loop forever on
 * it. With exact watermarks it always does; this stops the run should a column ever
 * compare differently from the value read back.
 */
export function assertAdvances(plan: SyncJobPlan, checkpoint: StoredCheckpoint | null, next: CheckpointAdvance): void {
  let watermark: string;
  let lastKey: string;
  try {
    watermark = encodeWatermark({ value: next.watermark, exact: next.exactWatermark }, `${plan.sourceMeta.name}.${plan.watermark.property}`);
    lastKey = encodeCheckpointValue(next.lastKey, `${plan.sourceMeta.name}.${plan.primaryKey.property}`);
  } catch (error) {
    throw new SyncJobError(plan.name, (error as Error).message, { cause: error });
  }
  if (checkpoint && watermark === checkpoint.stored.watermark && lastKey === checkpoint.stored.lastKey) {
    throw new SyncJobError(
      plan.name,
      `the batch after checkpoint (${watermark}, ${lastKey}) ended at that checkpoint again: ${plan.sourceMeta.name}.${plan.watermark.property} compares differently on the database from the values read back`,
    );
  }
}
