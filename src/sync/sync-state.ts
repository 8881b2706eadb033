import { ensureBookkeepingTable } from '../connection/bookkeeping-table.js';
import type { Connection } from '../connection/connection.js';
import { ConnectionManager } from '../connection/manager.js';
import { UniqueViolationError } from '../errors.js';
import { decoders } from '../connection/column-codecs.js';
import type { Transaction } from '../connection/session/local-transaction.js';
import { SyncJobError } from './sync-job-errors.js';
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
}

/**
 * Creates the `polyrecord_sync_state` table on a connection if it does not exist
 * (idempotent, safe to race from several processes). Columns: `name` (primary key),
 * `watermark` and `last_key` (type-tagged text), `rows_processed`, `updated_at`.
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

function createStateTable(connection: Connection): Promise<void> {
  return ensureBookkeepingTable(connection, SYNC_STATE_TABLE, (t) => {
    t.string('name', 191).primary();
    t.text('watermark').notNullable();
    t.text('last_key').notNullable();
    t.bigInteger('rows_processed').notNullable().defaultTo(0);
    t.datetime('updated_at', { precision: 3 }).notNullable();
  });
}

/** @internal The stored checkpoint of job `name`, or null. */
export async function readCheckpoint(connection: Connection, name: string): Promise<StoredCheckpoint | null> {
  const { rows } = await connection.runBuilder(connection.knex(SYNC_STATE_TABLE).select('watermark', 'last_key', 'rows_processed', 'updated_at').where('name', name));
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
  const values = { watermark: stored.watermark, last_key: stored.lastKey, rows_processed: stored.rowsProcessed, updated_at: connection.dialect.codec.datetime(updatedAt) };
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
  return { name, watermark: next.watermark, exactWatermark: next.exactWatermark, lastKey: next.lastKey, rowsProcessed: stored.rowsProcessed, updatedAt, stored };
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
