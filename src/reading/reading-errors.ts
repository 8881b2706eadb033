import { PolyrecordError } from '../errors.js';
import type { ScatterStat } from './scatter-types.js';

/**
 * A `scatter()` entry was stopped before it finished: a sibling failed (without
 * `partial`), so the entries still running were cancelled and those not yet started
 * never were. `started` tells which; a started query was cancelled on its server.
 *
 * @example
 * ```ts
 * const { stats } = await scatter({ a, b }, { partial: true, timeoutMs: 500 })
 * if (stats.b.error instanceof ScatterCancelledError) console.log(stats.b.error.entry, stats.b.error.started)
 * ```
 */
export class ScatterCancelledError extends PolyrecordError {
  /** The entry's key in the object given to `scatter()`. */
  readonly entry: string;
  /** The connection the entry's query runs on (undefined for a function entry). */
  readonly connection: string | undefined;
  /** Whether the entry had started; one that had not never ran. */
  readonly started: boolean;

  constructor(entry: string, connection: string | undefined, started: boolean, message: string, options: { cause?: unknown; code?: string } = {}) {
    super(options.code ?? 'E_SCATTER_CANCELLED', `scatter entry "${entry}"${connection === undefined ? '' : ` on "${connection}"`}: ${message}`, { cause: options.cause });
    this.entry = entry;
    this.connection = connection;
    this.started = started;
  }
}

/**
 * A `scatter()` entry ran past `timeoutMs`. A query entry's running statement was
 * cancelled on its server (PostgreSQL `pg_cancel_backend`, MySQL/MariaDB `KILL QUERY`)
 * and its session given back; a statement still waiting for a session never runs. A
 * function entry is abandoned: its statements running on PostgreSQL or MySQL/MariaDB
 * are cancelled the same way and it gets no new session, but the function itself is
 * not stopped. `cause` is the error the cancelled work failed with, when it had failed
 * by the time `scatter()` settled.
 *
 * @example
 * ```ts
 * const { stats } = await scatter({ report: Report.where({ day }) }, { timeoutMs: 2_000, partial: true })
 * if (stats.report.error instanceof ScatterTimeoutError) console.log(`gave up after ${stats.report.error.timeoutMs} ms`)
 * ```
 */
export class ScatterTimeoutError extends ScatterCancelledError {
  readonly timeoutMs: number;

  constructor(entry: string, connection: string | undefined, timeoutMs: number, cause?: unknown) {
    super(entry, connection, true, `did not finish within timeoutMs (${timeoutMs} ms) and was cancelled`, { cause, code: 'E_SCATTER_TIMEOUT' });
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A `scatter()` without `partial: true` had an entry fail. Raised after every other
 * entry finished or was cancelled (no session is left in use); `entry` names the first
 * to fail, `cause` is its error, `stats` tells what became of each entry.
 *
 * @example
 * ```ts
 * try { await scatter({ users: User.all(), orders: Order.all() }) }
 * catch (e) { if (e instanceof ScatterError) console.log(e.entry, e.stats[e.entry]?.connection, e.cause) }
 * ```
 */
export class ScatterError extends PolyrecordError {
  /** The key of the first entry that failed. */
  readonly entry: string;
  /** Every entry's stats, failures included. */
  readonly stats: Readonly<Record<string, ScatterStat>>;

  constructor(entry: string, stats: Record<string, ScatterStat>, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('E_SCATTER', `scatter failed: entry "${entry}" failed: ${reason}`, { cause });
    this.entry = entry;
    this.stats = stats;
  }
}

/**
 * `correlate()` was given something it cannot join: a malformed `on`, an unknown join
 * `type`, or an async-iterable right side. Raised before any row is read.
 */
export class CorrelateError extends PolyrecordError {
  constructor(message: string) {
    super('E_CORRELATE', `correlate: ${message}`);
  }
}
