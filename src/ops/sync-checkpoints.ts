import { tableExists } from '../connection/bookkeeping-table.js';
import { decoders } from '../connection/column-codecs.js';
import type { Connection } from '../connection/connection.js';
import { SYNC_STATE_TABLE } from '../sync/sync-state.js';
import { decodeCheckpointValue, decodeWatermark, type CheckpointValue } from '../sync/sync-state-codec.js';
import { messageOf, opsScope, type OpsOptions } from './ops-options.js';

/** One sync job's checkpoint as stored in a `polyrecord_sync_state` table. */
export interface SyncCheckpointRow {
  /** The connection whose state table holds it (the job's `stateConnection`). */
  connection: string;
  /** The job's name. */
  name: string;
  /** Watermark of the last row applied; null when it cannot be read (see `error`). */
  watermark: CheckpointValue | null;
  /** Primary key of the last row applied; null when it cannot be read. */
  lastKey: CheckpointValue | null;
  rowsProcessed: number;
  /** When the job last moved its checkpoint. */
  updatedAt: Date;
  /** How long ago that was, in ms. */
  sinceUpdateMs: number;
  /** For a date watermark: how far the last row applied is behind now, in ms; null otherwise. */
  watermarkLagMs: number | null;
  /** Why the stored values cannot be read. */
  error?: string;
}

/** What {@link syncCheckpoints} found. */
export interface SyncCheckpointReport {
  checkpoints: SyncCheckpointRow[];
  /** Connections whose state table could not be read. */
  unreachable: { connection: string; error: string }[];
}

/**
 * The checkpoints of every sync job, read from the `polyrecord_sync_state` table of every
 * connection that has one, with how long ago each moved and, for date watermarks, how far
 * behind now the last row applied is. Reads only; needs no job definitions (a job's lag in
 * rows needs its source: see `SyncJob`).
 *
 * @example
 * ```ts
 * const { checkpoints } = await syncCheckpoints()
 * for (const c of checkpoints) console.log(c.connection, c.name, c.rowsProcessed, c.watermarkLagMs)
 * ```
 */
export async function syncCheckpoints(options: OpsOptions = {}): Promise<SyncCheckpointReport> {
  const { manager } = opsScope(options);
  const report: SyncCheckpointReport = { checkpoints: [], unreachable: [] };
  const now = Date.now();
  for (const name of manager.names()) {
    const connection = manager.get(name);
    try {
      if (!(await tableExists(connection, SYNC_STATE_TABLE))) continue;
      for (const row of await stateRows(connection)) report.checkpoints.push(checkpointOf(name, row, now));
    } catch (error) {
      report.unreachable.push({ connection: name, error: messageOf(error) });
    }
  }
  return report;
}

async function stateRows(connection: Connection): Promise<Record<string, unknown>[]> {
  const query = connection.knex(SYNC_STATE_TABLE).select('name', 'watermark', 'last_key', 'rows_processed', 'updated_at').orderBy('name');
  return (await connection.runBuilder(query)).rows;
}

function checkpointOf(connection: string, row: Record<string, unknown>, now: number): SyncCheckpointRow {
  const updatedAt = decoders.datetime(row.updated_at) as Date;
  const base = { connection, name: String(row.name), rowsProcessed: Number(row.rows_processed), updatedAt, sinceUpdateMs: Math.max(0, now - updatedAt.getTime()) };
  try {
    const watermark = decodeWatermark(String(row.watermark)).value;
    const watermarkLagMs = watermark instanceof Date ? Math.max(0, now - watermark.getTime()) : null;
    return { ...base, watermark, lastKey: decodeCheckpointValue(String(row.last_key)), watermarkLagMs };
  } catch (error) {
    return { ...base, watermark: null, lastKey: null, watermarkLagMs: null, error: messageOf(error) };
  }
}
