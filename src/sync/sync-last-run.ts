import type { Knex } from 'knex';
import type { Connection } from '../connection/connection.js';
import { decoders } from '../connection/column-codecs.js';

/**
 * What a sync job's last run did, kept beside its checkpoint in `polyrecord_sync_state`
 * (nullable `last_run_*` columns, added to a table created before they existed). A run that
 * is still going, or that was killed, reads as `running`: the rows count is then what it had
 * committed by its last batch.
 */
export interface SyncJobLastRun {
  /** When the run started. */
  readonly startedAt: Date;
  /** When it ended; undefined while `running` (or after a crash). */
  readonly finishedAt: Date | undefined;
  /** Source rows the run applied. */
  readonly rows: number;
  readonly outcome: SyncRunOutcome;
  /** The message of the error that stopped a `failed` run. */
  readonly error: string | undefined;
}

/** How a run ended: `running` is also what a killed run leaves behind. */
export type SyncRunOutcome = 'running' | 'completed' | 'aborted' | 'failed';

/** @internal The run a checkpoint write belongs to. */
export interface RunMark {
  readonly startedAt: Date;
  /** Rows applied in this run, the batch being written included. */
  readonly rows: number;
}

/** @internal The `last_run_*` columns. */
export const LAST_RUN_COLUMNS = ['last_run_started_at', 'last_run_finished_at', 'last_run_rows', 'last_run_outcome', 'last_run_error'] as const;

/** @internal Adds the `last_run_*` columns to a table builder (create or alter). */
export function addLastRunColumns(t: Knex.TableBuilder, missing: readonly string[] = LAST_RUN_COLUMNS): void {
  const add: Record<(typeof LAST_RUN_COLUMNS)[number], () => void> = {
    last_run_started_at: () => t.datetime('last_run_started_at', { precision: 3 }).nullable(),
    last_run_finished_at: () => t.datetime('last_run_finished_at', { precision: 3 }).nullable(),
    last_run_rows: () => t.bigInteger('last_run_rows').nullable(),
    last_run_outcome: () => t.string('last_run_outcome', 16).nullable(),
    last_run_error: () => t.text('last_run_error').nullable(),
  };
  for (const column of missing) add[column as keyof typeof add]();
}

/** @internal The column values that record `run` with `outcome` (a running batch, or the end). */
export function lastRunValues(connection: Connection, run: RunMark, outcome: SyncRunOutcome, error?: unknown): Record<string, unknown> {
  const ended = outcome !== 'running';
  const message = error === undefined ? null : String((error as Error)?.message ?? error).slice(0, 1000);
  return {
    last_run_started_at: connection.dialect.codec.datetime(run.startedAt),
    last_run_finished_at: ended ? connection.dialect.codec.datetime(new Date()) : null,
    last_run_rows: run.rows,
    last_run_outcome: outcome,
    last_run_error: message,
  };
}

/** @internal Reads the last run from a `polyrecord_sync_state` row; undefined when none was recorded. */
export function lastRunOf(row: Record<string, unknown>): SyncJobLastRun | undefined {
  if (row.last_run_started_at === null || row.last_run_started_at === undefined) return undefined;
  return {
    startedAt: decoders.datetime(row.last_run_started_at) as Date,
    finishedAt: row.last_run_finished_at === null || row.last_run_finished_at === undefined ? undefined : (decoders.datetime(row.last_run_finished_at) as Date),
    rows: Number(row.last_run_rows ?? 0),
    outcome: String(row.last_run_outcome) as SyncRunOutcome,
    error: row.last_run_error === null || row.last_run_error === undefined ? undefined : String(row.last_run_error),
  };
}
