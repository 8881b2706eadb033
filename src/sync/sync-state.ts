import { ensureBookkeepingTable, tableExists } from '../connection/bookkeeping-table.js';
import type { Connection } from '../connection/connection.js';
import { ConnectionManager } from '../connection/manager.js';
import { UniqueViolationError } from '../errors.js';
import { decoders } from '../connection/column-codecs.js';
import type { Transaction } from '../connection/session/local-transaction.js';
import { SyncJobError } from './sync-job-errors.js';
import { addLastRunColumns, LAST_RUN_COLUMNS, lastRunOf, lastRunValues, type RunMark, type SyncJobLastRun, type SyncRunOutcome } from './sync-last-run.js';
import { decodeCheckpointValue, decodeWatermark, encodeCheckpointValue, encodeWatermark, type CheckpointValue } from './sync-state-codec.js';

/** The table sync jobs keep their checkpoints in: one row per job name. */
export const SYNC_STATE_TABLE = 'polyrecord_sync_state';

/** Where a sync job has got to: everything up to and including this position is in the target. */
export interface SyncJobCheckpoint {
  /** The job's name. */
  readonly name: string;
  /** Watermark value of the last row applied (same JS type as the source property). */
  readonly watermark: CheckpointValue;
  /** Primary key of the last row applied. */
  readonly lastKey: CheckpointValue;
  /** Rows applied since the checkpoint was created (across runs; replayed rows count again). */
  readonly rowsProcessed: number;
  /** When the checkpoint was last written. */
  readonly updatedAt: Date;
}

/** @internal A checkpoint with the exact stored text, for compare-and-set writes. */
export interface StoredCheckpoint extends SyncJobCheckpoint {
  /** The source database's own text of the watermark (a date's full precision), when the checkpoint has it. */
  readonly exactWatermark: string | undefined;
  readonly stored: { readonly watermark: string; readonly lastKey: string; readonly rowsProcessed: number };
  /** What the last run recorded, if it recorded anything. */
  readonly lastRun: SyncJobLastRun | undefined;
}

/**
 * Creates the `polyrecord_sync_state` table on a connection if it does not exist
 * (idempotent, safe to race from several processes). Columns: `name` (primary key),
 * `watermark` and `last_key` (type-tagged text), `rows_processed`, `updated_at`, and the
 * nullable `last_run_started_at`, `last_run_finished_at`, `last_run_rows`, `last_run_outcome`,
 * `last_run_error` (added to a table created by an earlier version).
 * `SyncJob.run()` calls it for you; call it yourself to create the table ahead of time
 * (outside any transaction: MySQL commits an open transaction on DDL).
 *
 * @example
 * ```ts
 * await ensureSyncStateTable('analytics')
 * ```
 */
export async function ensureSyncStateTable(connectionName: string, manager: ConnectionManager = ConnectionManager.default): Promise<void> {
  await createStateTable(manager.get(connectionName));
}

const ensured = new WeakSet<Connection>();

/** @internal {@link ensureSyncStateTable} once per connection object. */
export async function ensureStateTableOn(connection: Connection): Promise<void> {
  if (ensured.has(connection)) return;
  await createStateTable(connection);
  ensured.add(connection);
}

async function createStateTable(connection: Connection): Promise<void> {
  await ensureBookkeepingTable(connection, SYNC_STATE_TABLE, (t) => {
    t.string('name', 191).primary();
    t.text('watermark').notNullable();
    t.text('last_key').notNullable();
    t.bigInteger('rows_processed').notNullable().defaultTo(0);
    t.datetime('updated_at', { precision: 3 }).notNullable();
    addLastRunColumns(t);
  });
  await addMissingLastRunColumns(connection);
}

/**
 * A table created before the last-run columns existed gets them (nullable, so its rows and
 * older versions of polyrecord that write it are unaffected). Another process adding them at
 * the same moment is no failure: what counts is that they exist afterwards.
 */
async function addMissingLastRunColumns(connection: Connection): Promise<void> {
  const missing: string[] = [];
  for (const column of LAST_RUN_COLUMNS) if (!(await hasColumn(connection, column))) missing.push(column);
  if (missing.length === 0) return;
  try {
    for (const { sql, bindings } of connection.knex.schema.alterTable(SYNC_STATE_TABLE, (t) => addLastRunColumns(t, missing)).toSQL()) await connection.execute(sql, bindings);
  } catch (error) {
    for (const column of missing) if (!(await hasColumn(connection, column))) throw error;
  }
}

/** Whether the state table has `column`: selecting it (no rows) fails when it has not, on every dialect. */
async function hasColumn(connection: Connection, column: string): Promise<boolean> {
  try {
    await connection.runBuilder(connection.knex(SYNC_STATE_TABLE).select(column).whereRaw('1 = 0'));
    return true;
  } catch {
    return false;
  }
}

/** @internal Whether the state table exists on `connection`: reading without it is reading no checkpoint, and creating it would be a write. */
export function stateTableExists(connection: Connection): Promise<boolean> {
  return ensured.has(connection) ? Promise.resolve(true) : tableExists(connection, SYNC_STATE_TABLE);
}

/** @internal The stored checkpoint of job `name`, or null. Every column is read: a table from before the last-run columns reads too, without a last run. */
export async function readCheckpoint(connection: Connection, name: string): Promise<StoredCheckpoint | null> {
  const { rows } = await connection.runBuilder(connection.knex(SYNC_STATE_TABLE).select('*').where('name', name));
  const row = rows[0];
  if (!row) return null;
  const stored = { watermark: String(row.watermark), lastKey: String(row.last_key), rowsProcessed: Number(row.rows_processed) };
  try {
    const watermark = decodeWatermark(stored.watermark);
    return {
      name,
      watermark: watermark.value,
      exactWatermark: watermark.exact,
      lastKey: decodeCheckpointValue(stored.lastKey),
      rowsProcessed: stored.rowsProcessed,
      updatedAt: decoders.datetime(row.updated_at) as Date,
      stored,
      lastRun: lastRunOf(row),
    };
  } catch (error) {
    throw new SyncJobError(name, `the checkpoint in ${SYNC_STATE_TABLE} on "${connection.name}" cannot be read; reset() the job to start over`, { cause: error });
  }
}

/** @internal The next position to store. */
export interface CheckpointAdvance {
  readonly watermark: CheckpointValue;
  /** The source database's text of the watermark, where it is more exact than the JS value. */
  readonly exactWatermark: string | undefined;
  readonly lastKey: CheckpointValue;
  readonly rows: number;
  /** The run writing it, recorded as `running` with its rows so far (what a killed run leaves). */
  readonly run?: RunMark;
}

/**
 * @internal Moves job `name`'s checkpoint from `previous` to `next`, compare-and-set:
 * if the stored row is no longer `previous` (another run advanced it, or it was reset),
 * nothing is written and a {@link SyncJobError} is thrown. Inside `trx` when given.
 */
export async function advanceCheckpoint(connection: Connection, trx: Transaction | undefined, name: string, previous: StoredCheckpoint | null, next: CheckpointAdvance): Promise<StoredCheckpoint> {
  const stored = {
    watermark: encodeWatermark({ value: next.watermark, exact: next.exactWatermark }, 'the watermark'),
    lastKey: encodeCheckpointValue(next.lastKey, 'the primary key'),
    rowsProcessed: (previous?.rowsProcessed ?? 0) + next.rows,
  };
  const updatedAt = new Date();
  const values = {
    watermark: stored.watermark,
    last_key: stored.lastKey,
    rows_processed: stored.rowsProcessed,
    updated_at: connection.dialect.codec.datetime(updatedAt),
    ...(next.run ? lastRunValues(connection, next.run, 'running') : {}),
  };
  const table = () => connection.knex(SYNC_STATE_TABLE);
  const runner = trx ?? connection;
  if (previous === null) {
    try {
      await runner.runBuilder(table().insert({ name, ...values }));
    } catch (error) {
      if (error instanceof UniqueViolationError) throw conflict(name, connection, error);
      throw error;
    }
  } else {
    const { affected } = await runner.runBuilder(table().update(values).where({ name, watermark: previous.stored.watermark, last_key: previous.stored.lastKey, rows_processed: previous.stored.rowsProcessed }));
    if (affected !== 1) throw conflict(name, connection);
  }
  const lastRun = next.run ? { startedAt: next.run.startedAt, finishedAt: undefined, rows: next.run.rows, outcome: 'running' as const, error: undefined } : previous?.lastRun;
  return { name, watermark: next.watermark, exactWatermark: next.exactWatermark, lastKey: next.lastKey, rowsProcessed: stored.rowsProcessed, updatedAt, stored, lastRun };
}

/**
 * @internal Records how job `name`'s run went, on its checkpoint row (a job without one, which
 * never committed a batch, has nowhere to keep it). Leaves the checkpoint itself alone.
 */
export async function recordRun(connection: Connection, name: string, run: RunMark, outcome: SyncRunOutcome, error?: unknown): Promise<void> {
  await connection.runBuilder(connection.knex(SYNC_STATE_TABLE).update(lastRunValues(connection, run, outcome, error)).where('name', name));
}

/** @internal Deletes job `name`'s checkpoint; resolves with whether there was one. */
export async function deleteCheckpoint(connection: Connection, name: string): Promise<boolean> {
  const { affected } = await connection.runBuilder(connection.knex(SYNC_STATE_TABLE).where('name', name).delete());
  return affected > 0;
}

function conflict(name: string, connection: Connection, cause?: unknown): SyncJobError {
  return new SyncJobError(
    name,
    `its checkpoint in ${SYNC_STATE_TABLE} on "${connection.name}" was changed by someone else (another run of the same job, or reset()) while this run was going; this run stopped without moving it`,
    { cause },
  );
}
