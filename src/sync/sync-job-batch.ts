import type { ActiveRecord } from '../model/active-record.js';
import { bulkWrite } from '../model/bulk.js';
import { modelOf, resolveTarget } from '../model/target.js';
import { SyncJobError } from './sync-job-errors.js';
import type { SyncJobPlan } from './sync-job-options.js';
import { tupleKey } from './sync-state-codec.js';

/** @internal One batch of source rows, mapped and ready to apply. */
export interface PreparedBatch {
  /** Mapped rows to insert or update, one per conflict-key tuple. */
  readonly upserts: readonly Record<string, unknown>[];
  /** Conflict-key tuples to delete (soft-deleted source rows), one per tuple. */
  readonly deletes: readonly unknown[][];
}

/** @internal What applying a batch did to the target. */
export interface BatchOutcome {
  readonly upserted: number;
  /** Upserted rows whose key was new; undefined with composite conflict keys (not counted). */
  readonly inserted: number | undefined;
  readonly updated: number | undefined;
  /** Target rows deleted. */
  readonly deleted: number;
}

/** The model methods used here, with property names as plain strings (checked in planSyncJob). */
interface TargetModel {
  /** The target's rows are all seen, soft-deleted ones too: the job counts and deletes rows, not live records. */
  withTrashed(): {
    whereIn(property: string, values: readonly unknown[]): { count(): Promise<number>; forceDelete(): Promise<number> };
    where(conditions: Record<string, unknown>): { forceDelete(): Promise<number> };
  };
}

/**
 * Maps each source record and sorts it into an upsert or a delete. When two records
 * map to the same conflict key, the later one (in watermark order, so the newer) wins:
 * one statement must not touch a key twice.
 */
export function prepareBatch(plan: SyncJobPlan, records: readonly ActiveRecord[]): PreparedBatch {
  const byKey = new Map<string, { row: Record<string, unknown> | undefined; key: unknown[] }>();
  for (const record of records) {
    const source = record as unknown as Record<string, unknown>;
    const mapped = (plan.map as (r: ActiveRecord) => unknown)(record);
    if (mapped === null || typeof mapped !== 'object' || Array.isArray(mapped)) {
      throw new SyncJobError(plan.name, `map() must return an object of ${plan.targetMeta.name} properties (for ${describeRecord(plan, source)})`);
    }
    const row = mapped as Record<string, unknown>;
    const key = plan.conflictKeys.map((column) => {
      const value = row[column.property];
      if (value === undefined || value === null) {
        throw new SyncJobError(plan.name, `map() gave no value for conflict key ${plan.targetMeta.name}.${column.property} (for ${describeRecord(plan, source)})`);
      }
      return value;
    });
    const deleted = plan.softDelete !== undefined && source[plan.softDelete.property] !== null && source[plan.softDelete.property] !== undefined;
    const id = tupleKey(key);
    byKey.delete(id);
    byKey.set(id, { row: deleted ? undefined : row, key });
  }
  const upserts: Record<string, unknown>[] = [];
  const deletes: unknown[][] = [];
  for (const { row, key } of byKey.values()) {
    if (row) upserts.push(row);
    else deletes.push(key);
  }
  return { upserts, deletes };
}

/**
 * Applies a prepared batch to the target model. Call it inside a transaction on the
 * target's connection: every statement here joins it.
 */
export async function applyBatch(plan: SyncJobPlan, batch: PreparedBatch): Promise<BatchOutcome> {
  const target = plan.target as TargetModel;
  const keys = plan.conflictKeys.map((c) => c.property);
  let deleted = 0;
  if (batch.deletes.length > 0) {
    if (keys.length === 1) {
      deleted = await target.withTrashed().whereIn(keys[0]!, batch.deletes.map((k) => k[0])).forceDelete();
    } else {
      // Composite keys: one prepared DELETE per tuple (deletes are usually a small share).
      for (const tuple of batch.deletes) deleted += await target.withTrashed().where(Object.fromEntries(keys.map((p, i) => [p, tuple[i]]))).forceDelete();
    }
  }
  let inserted: number | undefined;
  let updated: number | undefined;
  if (batch.upserts.length > 0) {
    const { meta, explicit } = modelOf(plan.target);
    const destination = resolveTarget(meta, explicit);
    const single = keys.length === 1;
    // Where the upsert can say which rows it inserted (PostgreSQL), it does; elsewhere one lookup
    // first: the keys that exist now will be updated, the rest inserted.
    const counted = single && destination.connection.dialect.upsertInsertedFlag !== undefined;
    if (single && !counted) updated = await target.withTrashed().whereIn(keys[0]!, batch.upserts.map((row) => row[keys[0]!])).count();
    const outcome = await bulkWrite(meta, destination, batch.upserts, { conflictKeys: keys }, counted);
    if (counted) updated = batch.upserts.length - outcome.inserted!;
    if (single) inserted = batch.upserts.length - updated!;
  } else if (keys.length === 1) {
    inserted = 0;
    updated = 0;
  }
  return { upserted: batch.upserts.length, inserted, updated, deleted };
}

function describeRecord(plan: SyncJobPlan, record: Record<string, unknown>): string {
  const key = record[plan.primaryKey.property];
  return `${plan.sourceMeta.name} ${plan.primaryKey.property}=${typeof key === 'string' ? JSON.stringify(key) : String(key)}`;
}
