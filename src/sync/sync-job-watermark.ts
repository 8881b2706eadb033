import type { Connection } from '../connection/connection.js';
import type { ActiveRecord } from '../model/active-record.js';
import { originalValue, type RecordSlots } from '../model/hydration.js';
import { SyncJobError } from './sync-job-errors.js';
import type { SyncJobPlan } from './sync-job-options.js';
import { encodeCheckpointValue } from './sync-state-codec.js';
import type { StoredCheckpoint } from './sync-state.js';

/**
 * Keyset paging is exact only if a watermark read into JS and bound back compares
 * like the stored value. Refuses a batch holding a date or datetime watermark that
 * would not: finer than milliseconds (MySQL `DATETIME(6)`, PostgreSQL `timestamp`
 * text), or, on SQLite, text in another format than polyrecord writes (SQLite compares
 * it as text, so `2024-01-02 03:04:05` sorts before `2024-01-02T…`). Such rows would
 * otherwise be skipped or read again.
 */
export function assertExactWatermarks(plan: SyncJobPlan, source: Connection, records: readonly ActiveRecord[]): void {
  const column = plan.watermark;
  if (column.type !== 'datetime' && column.type !== 'date') return;
  const codec = source.dialect.codec;
  for (const record of records) {
    const raw = originalValue(record as RecordSlots, column.column);
    const value = (record as unknown as Record<string, unknown>)[column.property];
    if (raw === null || raw === undefined || !(value instanceof Date)) continue;
    let problem: string | undefined;
    if (source.dialect.datesAreText) {
      const encoded = column.type === 'date' ? codec.date(value) : codec.datetime(value);
      if (raw !== encoded) problem = `the database (${source.driver}) compares it (as stored) with ${JSON.stringify(encoded)}, the value it reads back as`;
    } else if (typeof raw === 'string') {
      const fraction = /\.(\d+)/.exec(raw)?.[1] ?? '';
      if (/[1-9]/.test(fraction.slice(3))) problem = 'it is more precise than a JS Date (milliseconds)';
    }
    if (problem !== undefined) {
      const key = (record as unknown as Record<string, unknown>)[plan.primaryKey.property];
      throw new SyncJobError(
        plan.name,
        `${plan.sourceMeta.name}.${column.property} of ${plan.primaryKey.property}=${String(key)} is stored as ${JSON.stringify(raw)} and ${problem}: paging by it could skip or repeat rows. Store millisecond values (see docs/sync-job.md, Precision)`,
      );
    }
  }
}

/**
 * A batch must end after the checkpoint it started from. If it does not, the stored
 * watermarks are finer than the JS values read back (e.g. PostgreSQL microsecond
 * `timestamptz` parsed into a Date) and paging would loop forever: stop instead.
 */
export function assertAdvances(plan: SyncJobPlan, checkpoint: StoredCheckpoint | null, next: { watermark: unknown; lastKey: unknown }): void {
  let watermark: string;
  let lastKey: string;
  try {
    watermark = encodeCheckpointValue(next.watermark, `${plan.sourceMeta.name}.${plan.watermark.property}`);
    lastKey = encodeCheckpointValue(next.lastKey, `${plan.sourceMeta.name}.${plan.primaryKey.property}`);
  } catch (error) {
    throw new SyncJobError(plan.name, (error as Error).message, { cause: error });
  }
  if (checkpoint && watermark === checkpoint.stored.watermark && lastKey === checkpoint.stored.lastKey) {
    throw new SyncJobError(
      plan.name,
      `the batch after checkpoint (${watermark}, ${lastKey}) ended at that checkpoint again: ${plan.sourceMeta.name}.${plan.watermark.property} holds values more precise than the JS values read back (e.g. microsecond timestamps). Store millisecond values (see docs/sync-job.md, Precision)`,
    );
  }
}
