import type { QueryError } from '../errors.js';

/**
 * One statement polyrecord sent to a database, as the manager's `'query'` event reports
 * it: model queries, raw SQL, BEGIN/COMMIT/savepoints, two-phase statements (PREPARE
 * TRANSACTION, XA …, COMMIT PREPARED), the coordinator log's and outbox/SyncJob
 * bookkeeping, and queries built with `connection.knex` or `trx.table()`.
 *
 * @example
 * ```ts
 * ConnectionManager.default.events.on('query', (e) => {
 *   console.log(`[${e.connection}] ${e.durationMs.toFixed(1)} ms ${e.sql}`, e.bindings, e.error?.message ?? '')
 * })
 * ```
 */
export interface QueryEvent {
  /** The connection's name (aliases resolve to it). */
  readonly connection: string;
  /**
   * The statement's text as sent, in the dialect's own placeholders (`$1` on PostgreSQL,
   * `?` elsewhere). Where the connection has a password, any occurrence of it is replaced
   * by `***`.
   */
  readonly sql: string;
  /**
   * The values bound to the placeholders, exactly as they were handed to the driver: they
   * are your data (encoded for the database), not filtered. Do not log them where your
   * data must not go.
   */
  readonly bindings: readonly unknown[];
  /** Milliseconds from handing the statement to the driver to its answer (`performance.now()`). */
  readonly durationMs: number;
  /** Rows the statement returned (a SELECT's, or a RETURNING's); 0 when it failed. */
  readonly rows: number;
  /**
   * Rows an INSERT/UPDATE/DELETE changed, as the driver reports them; 0 when it failed.
   * For a read it is 0, except on PostgreSQL, whose drivers report a SELECT's row count here too.
   */
  readonly affected: number;
  /**
   * Whether the statement belongs to a transaction: it ran on the session a transaction
   * holds (`ConnectionManager.transaction()`, a `CrossDbTransaction` branch, a bulk write),
   * including the BEGIN, COMMIT, ROLLBACK and savepoints themselves, and the two-phase
   * statements that prepare or finish a branch.
   */
  readonly inTransaction: boolean;
  /** Why the statement failed, when it did (the same error the caller receives, or knex's wrapped as a QueryError). */
  readonly error?: QueryError;
}

/** The part of the manager's emitter a connection reports its statements to. */
export interface QueryEventSink {
  listenerCount(event: 'query'): number;
  emit(event: 'query', event_: QueryEvent): boolean;
}

/** A sink nobody listens to: connections made without a manager. */
export const noQueryListeners: QueryEventSink = { listenerCount: () => 0, emit: () => false };
