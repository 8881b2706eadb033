import type { Knex } from 'knex';
import type { ReplicationSupport } from './replication.js';
import type { SchemaSupport } from './schema-support.js';
import type { ValueCodec } from '../column-codecs.js';
import type { ConnectionSettings, DriverName } from '../config.js';
import type { DriverFailure } from '../../errors.js';
import type { DriverConnection } from './driver-connection.js';
import { CancelScope, acquireInScope, type SessionControl, type StatementCancel } from './statement-cancel.js';

export type { DriverConnection };

/** What running one statement returned, in the same shape on every dialect. */
export interface ExecResult {
  /** Objects keyed by column name, or arrays in select-list order when asked for with {@link ExecOptions.arrays}. */
  rows: Record<string, unknown>[];
  /** Rows changed by an INSERT/UPDATE/DELETE. */
  affected: number;
  /** Generated key of a single-row INSERT where the driver reports it without RETURNING. */
  insertId?: number | bigint | string;
}

/**
 * Whether a statement may be prepared on the server:
 * - `'auto'`: a repeating shape (compiled model statements, raw SQL whose caller asked);
 *   prepared on a session once the connection has run it `prepareThreshold` times,
 *   so one-off texts never are;
 * - `'never'`: always sent unprepared (raw SQL, bookkeeping statements).
 */
export type PreparePolicy = 'auto' | 'never';

/** How a statement is to be run. */
export interface ExecOptions {
  /** Whether the text may be prepared on the server (see {@link PreparePolicy}); default `'never'`. */
  prepare?: PreparePolicy;
  /** SQLite only: read INTEGER columns as `bigint` so 64-bit values keep their precision. */
  safeIntegers?: boolean;
  /** Only the first row is wanted (a lookup by a unique key): SQLite stops stepping after it. */
  firstRow?: boolean;
  /**
   * Rows as arrays of values in select-list order instead of objects keyed by column name
   * (every adapter honours it): the driver then builds no object per row (better-sqlite3
   * builds arrays in about half the time).
   */
  arrays?: boolean;
  /**
   * The statement may run twice with the same effect (a read, or a write the caller marked):
   * outside a transaction, a run that lost its session is retried on a fresh one (the
   * connection's `lostSessionRetries`).
   */
  idempotent?: boolean;
  /**
   * The statement only reads: outside a transaction, on a connection with `replicas`, a
   * replica may answer it (model reads set it; a locking read never runs outside a transaction).
   */
  readOnly?: boolean;
}

/**
 * A statement one session keeps prepared: its text, a name never used before on that
 * session, and whatever the driver needs to reuse it (SQLite's statement object).
 */
export interface PreparedStatement {
  readonly sql: string;
  readonly name: string;
  handle: unknown;
}


/** The SQL type a list of values is compared as (a bigint is an integer here). */
export type ListElementType = 'integer' | 'float' | 'string' | 'boolean' | 'date' | 'datetime';

/**
 * `column IN (list)` with the whole list bound as ONE value, for lists too long to give
 * each value a placeholder: one statement shape for any length, far from every
 * placeholder limit (PostgreSQL `= ANY($1)` over an array; SQLite `json_each`; MySQL and
 * MariaDB a literal list that mysql2 writes into the text).
 */
export interface BoundList {
  /** The list travels in the statement's text, so the statement must run unprepared. */
  readonly unprepared: boolean;
  /** The condition in knex raw syntax: `??` is the column, `?` the bound list. */
  condition(not: boolean): string;
  /** The one value to bind, from values already encoded for the dialect. */
  bind(values: readonly unknown[], type: ListElementType): unknown;
}

/**
 * `whereLike` / `whereILike` with one meaning everywhere: `%` matches any run of
 * characters, `_` one character, and a backslash makes the next character literal.
 */
export interface LikeSupport {
  /** The condition in knex raw syntax: `??` is the column, `?` the bound pattern. */
  condition(insensitive: boolean): string;
  /** The value to bind for a pattern (SQLite rewrites a case-sensitive one for GLOB). */
  pattern(pattern: string, insensitive: boolean): string;
}

/** A row lock taken by a SELECT: `FOR UPDATE` or a shared lock, waiting, skipping locked rows, or failing at once. */
export interface RowLock {
  readonly mode: 'update' | 'share';
  readonly wait: 'wait' | 'skipLocked' | 'noWait';
}

/** How a row lock waits, written alike by PostgreSQL and MySQL/MariaDB. */
export const WAIT_CLAUSE: Readonly<Record<RowLock['wait'], string>> = { wait: '', skipLocked: ' skip locked', noWait: ' nowait' };

// Column values are encoded by the dialect's codec, declared beside the column types it serves.
export type { ValueCodec } from '../column-codecs.js';

/**
 * Lends out raw connections. SQLite's lends its single connection synchronously
 * when it is free, which is what lets compiled SQLite queries run without a
 * promise round trip.
 */
export interface ConnectionLender {
  /** The connection, if one can be had without waiting. */
  tryAcquire(): DriverConnection | undefined;
  acquire(): Promise<DriverConnection>;
  release(connection: DriverConnection): void;
  stats(): PoolStats;
  /**
   * Runs `fn` as the holder of an acquired session, where the pool has one session only
   * (SQLite): an acquire from inside `fn` then fails fast instead of waiting for itself.
   */
  whileHeld?<T>(fn: () => Promise<T>): Promise<T>;
  /** Gives back to the pool every session kept idle for a next statement (before the pool closes). */
  drain?(): void;
}

/** How busy a pool is. */
export interface PoolStats {
  /** Sessions lent out. */
  readonly used: number;
  /** Sessions open and idle. */
  readonly free: number;
  /** Callers waiting for a session. */
  readonly pending: number;
}

/**
 * Everything that differs between SQLite, PostgreSQL and MySQL/MariaDB lives behind this
 * interface: one implementation per dialect, and no `driver === ...` checks elsewhere.
 */
export interface DialectAdapter {
  readonly driver: DriverName;
  /** Other names accepted for this driver in `driver` and as URL schemes (e.g. `postgres`). */
  readonly aliases: readonly string[];
  /** The database's name in messages (`PostgreSQL`). */
  readonly displayName: string;
  /** A URL of this driver names a file (`sqlite:./app.db`), not a server (`scheme://user@host/db`). */
  readonly fileUrls: boolean;
  /** Largest number of bind parameters in one statement. */
  readonly maxBindings: number;
  /**
   * Schema changes (CREATE/ALTER/DROP) take part in a transaction and roll back with it.
   * False where DDL commits implicitly (MySQL/MariaDB): a failed migration then leaves the
   * statements before the failing one applied.
   */
  readonly transactionalDdl: boolean;
  /** How a long `whereIn` list is bound as one value. */
  readonly boundList: BoundList;
  /** Case-sensitive and case-insensitive LIKE. */
  readonly like: LikeSupport;
  /** The text appended to a SELECT to take `lock` on the rows it reads (empty where rows cannot be locked: SQLite locks the whole database). */
  lockClause(lock: RowLock): string;
  /**
   * Rows per INSERT in bulk operations, given the column count. SQLite answers 1: knex
   * writes multi-row SQLite inserts as UNION ALL (capped at 500 terms), and one prepared
   * single-row statement run in a loop inside a transaction is SQLite's fastest path anyway.
   */
  rowsPerInsert(columnCount: number): number;
  /**
   * SQL that reads the date or date-time column `??` as the database's own text of it, at the
   * column's full precision, which the database parses back into the very same value when the
   * text is bound against that column (`col > ?`). A JS Date keeps milliseconds; this keeps
   * microseconds, so a keyset cursor compared on the server is exact (the sync job's watermark).
   */
  readonly exactDateText: string;
  /** Pool bounds used when the config gives none. */
  readonly defaultPool: { min: number; max: number };
  /**
   * One session for everyone, lent to one caller at a time by the adapter's own gate (SQLite),
   * which keeps the queue: `limits` bound that queue instead of adding one in front of it.
   */
  readonly singleSession: boolean;
  /** Whether a generated key comes back through `RETURNING` (else `ExecResult.insertId`). */
  readonly insertReturning: boolean;
  /**
   * An expression an upsert can return that is true for the rows it inserted and false
   * for those it updated (PostgreSQL `xmax = 0`: a row updated by `ON CONFLICT DO UPDATE`
   * carries the updating transaction's id). Undefined where no such expression exists:
   * the split then takes a count of the existing keys first.
   */
  readonly upsertInsertedFlag: string | undefined;
  /** Whether `UPDATE … RETURNING` exists (lets a claim be one statement). */
  readonly supportsUpdateReturning: boolean;
  /**
   * One statement that sets `set` on the rows of `table` whose `id` the SELECT `pick` (row
   * lock included) returns, and returns their `columns`: a queue claim in one round trip.
   * Undefined where the server cannot (MariaDB refuses a locking LIMIT subquery, 1235, and
   * has no UPDATE … RETURNING): the caller picks, updates and reads back in one transaction.
   */
  updatePickedReturning(table: string, set: string, pick: string, columns: string): string | undefined;
  /**
   * Reads a table's columns (bindings: schema or null for the current one, table) as rows
   * of `name`, `type` and `digits` (fractional-second digits of date-time columns, else
   * null); undefined where every date-time keeps milliseconds (SQLite stores text).
   */
  readonly columnDigitsSql: string | undefined;
  /** Cancelling a running statement from another session, where the server can (SQLite cannot: see {@link StatementCancel}). */
  readonly statementCancel: StatementCancel | undefined;
  /** Two-phase commit, where the database has it (SQLite has not: it can join only as a last resource). */
  readonly twoPhase: TwoPhaseSupport | undefined;
  /** Replication positions and lag for read replicas (`replicas`), where the database streams to them (SQLite does not). */
  readonly replication: ReplicationSupport | undefined;
  /** Reading live tables and judging declared types against them (`schema:check`), and creating columns (`make:migration --from-models`). */
  readonly schema: SchemaSupport;
  /**
   * After rows were written with explicit values in a generated key column: the statement
   * (and its bindings) that moves the column's generator past the highest value, so the
   * next insert without a key does not collide. Undefined where the database does that by
   * itself (MySQL's AUTO_INCREMENT and SQLite's rowid follow the largest key written);
   * PostgreSQL's sequences do not.
   */
  keyGeneratorCatchUp(table: string, column: string): { sql: string; bindings: unknown[] } | undefined;
  /** Statement that refreshes the planner's statistics for a table (queue tables change faster than autovacuum notices). */
  analyzeStatement(table: string): string;
  /** Returns a row when the table named by its one binding exists in the current database (schema, on PostgreSQL). */
  readonly tableExistsSql: string;
  /** Statement that opens a transaction. */
  readonly beginStatement: string;
  /** Statement that probes liveness in `health()`. */
  readonly pingStatement: string;
  readonly codec: ValueCodec;

  /**
   * Creates the knex instance (with driver options that make values come back in a
   * uniform shape) and the lender of raw connections. Nothing connects until first use.
   */
  open(settings: ConnectionSettings): OpenedDriver;
  /** Closes a driver connection so the pool drops it instead of lending it again (an XA branch left prepared for recovery, a broken session). */
  discard(connection: DriverConnection): Promise<void>;
  /**
   * Runs one statement with positional bindings in the dialect's native placeholder
   * syntax: as the session's prepared `statement` (prepared by this run if the session
   * does not have it yet), or unprepared when `statement` is undefined. With
   * `options.safeIntegers` SQLite reads INTEGER columns as `bigint`; with `options.firstRow`
   * it returns the first row only (other drivers return what the server sent).
   */
  execute(connection: DriverConnection, sql: string, bindings: readonly unknown[], statement: PreparedStatement | undefined, options: ExecOptions): ExecResult | Promise<ExecResult>;
  /**
   * Releases a prepared statement on the session (PostgreSQL Close, mysql2's statement
   * cache and COM_STMT_CLOSE). Safe in any session state, including a failed transaction,
   * and a no-op for a statement the session never managed to prepare.
   */
  unprepare(connection: DriverConnection, statement: PreparedStatement): void | Promise<void>;
  /** Whether a driver error means the server would not prepare another statement (a full statement limit, out of memory). */
  isPrepareRefused(error: unknown): boolean;
  /** Whether a driver error means a prepared statement no longer fits its table (PostgreSQL after some ALTER TABLEs). */
  isStalePlan(error: unknown): boolean;
  /**
   * Whether the server keeps one plan per prepared statement and stops re-costing it as
   * tables grow (PostgreSQL's generic plans). Such statements are prepared again now and
   * then (see `StatementCache`). MySQL and MariaDB optimize every execution; SQLite's
   * plans do not depend on table sizes until ANALYZE, which re-prepares them itself.
   */
  readonly plansGoStale: boolean;
  /**
   * A bound integer inside arithmetic (`col + ?`), in knex placeholder syntax: MySQL
   * computes with a prepared statement's parameter in DOUBLE, losing digits past 2^53,
   * unless it is cast.
   */
  readonly integerOperand: string;
  /**
   * Which typed error a driver error is (a unique violation, a deadlock, a lost session, …)
   * and what the driver said about where (table, constraint, column); undefined for any
   * other failure, which stays a plain `QueryError`. `sql` is the statement's text, where known.
   */
  classifyError(error: unknown, sql: string | undefined): DriverFailure | undefined;
}

/** A two-phase-commit branch identifier: XA's gtrid/bqual; PostgreSQL uses `gtrid:bqual` as its gid. */
export interface Xid {
  readonly gtrid: string;
  readonly bqual: string;
}

/** A prepared (in-doubt) branch found on a server. */
export interface PreparedBranch {
  readonly xid: Xid;
  /** When the server prepared it, where the server says (PostgreSQL). */
  readonly preparedAt?: Date;
}

/** What a reply held: rows returned, rows changed. */
export interface ReplyCounts {
  readonly rows: number;
  readonly affected: number;
}

/**
 * How a statement a dialect sends itself, straight through its driver (two-phase commit),
 * reaches the connection's query events: runs `send` and reports `sql` with what `count`
 * finds in the reply. With nobody listening it only runs `send`.
 */
export type ReportStatement = <T>(sql: string, bindings: readonly unknown[], inTransaction: boolean, send: () => Promise<T>, count?: (reply: T) => ReplyCounts) => Promise<T>;

/** Reports nothing: for callers outside a connection (tests, tools). */
export const unreported: ReportStatement = (_sql, _bindings, _inTransaction, send) => send();

/**
 * Two-phase commit on one dialect (PostgreSQL `PREPARE TRANSACTION`, MySQL/MariaDB
 * XA). Every method runs on a connection the caller holds. A branch keeps its
 * connection from begin to phase 2 (XA even requires it: a connection whose branch is
 * prepared fails every other statement until the branch finishes). `report` passes each
 * statement to the connection's query events (`Connection.twoPhase` supplies it).
 */
export interface TwoPhaseSupport {
  /** Fails with a clear error when the server cannot prepare transactions. */
  assertEnabled(connection: DriverConnection, report?: ReportStatement): Promise<void>;
  begin(connection: DriverConnection, xid: Xid, report?: ReportStatement): Promise<void>;
  /** Phase 1; rejects (a NO vote) when the branch cannot commit, leaving it rolled back or rollback-only. */
  prepare(connection: DriverConnection, xid: Xid, report?: ReportStatement): Promise<void>;
  /** Phase 2 commit; 'notFound' when no such prepared branch exists (already finished). */
  commitPrepared(connection: DriverConnection, xid: Xid, report?: ReportStatement): Promise<'done' | 'notFound'>;
  /** Phase 2 rollback; 'notFound' when no such prepared branch exists. */
  rollbackPrepared(connection: DriverConnection, xid: Xid, report?: ReportStatement): Promise<'done' | 'notFound'>;
  /** Abandons a branch that was never prepared. */
  rollbackActive(connection: DriverConnection, xid: Xid, report?: ReportStatement): Promise<void>;
  /** In-doubt branches on the server (this database, for PostgreSQL), polyrecord's and anybody else's. */
  listPrepared(connection: DriverConnection, report?: ReportStatement): Promise<PreparedBranch[]>;
}

/** How a branch is named on the server and to people: `gtrid:bqual`, or the gtrid alone when the bqual is empty. */
export function xidText(xid: Xid): string {
  return xid.bqual === '' ? xid.gtrid : `${xid.gtrid}:${xid.bqual}`;
}

/** Characters allowed in gtrid/bqual: they are written into SQL text by PostgreSQL. */
export const XID_PATTERN = /^[A-Za-z0-9:._~-]{1,64}$/;

/** Refuses an xid that could not be written into SQL safely. */
export function assertXid(xid: Xid): void {
  if (!XID_PATTERN.test(xid.gtrid) || !XID_PATTERN.test(xid.bqual)) throw new Error(`invalid transaction id ${JSON.stringify(xid)}`);
}

/** What a dialect's `open()` returns. */
export interface OpenedDriver {
  knex: Knex;
  lender: ConnectionLender;
  /** Calls `listener` with each session the pool closes, so what was kept per session can go. */
  onSessionClosed(listener: (connection: DriverConnection) => void): void;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** Formats a Date as `YYYY-MM-DD` in UTC. */
export function utcDateString(value: Date): string {
  return value.toISOString().slice(0, 10);
}

// Node's own codes for a socket that broke or never connected: the same on every server driver.
const NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/** Whether a driver error is the network failing under it (a reset, a refused or timed-out connect). */
export function isNetworkFailure(error: unknown): boolean {
  const code = driverErrorCode(error);
  return code !== undefined && NETWORK_CODES.has(code);
}

/** Reads a driver error's `code` property, whatever the driver. */
export function driverErrorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return code === undefined || code === null ? undefined : String(code);
  }
  return undefined;
}

/** The parts of knex's pool (tarn) polyrecord reads. */
interface KnexPool {
  on(event: 'destroySuccess', handler: (id: number, connection: DriverConnection) => void): void;
  on(event: 'acquireRequest', handler: () => void): void;
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

const knexPool = (knex: Knex) => knex.client.pool as KnexPool | undefined;

/** Listens for the sessions knex's own pool (tarn) destroys. */
export function onKnexSessionClosed(knex: Knex, listener: (connection: DriverConnection) => void): void {
  knexPool(knex)?.on('destroySuccess', (_id, connection) => listener(connection));
}

/**
/** How long a released session may wait with polyrecord for its next statement before it goes back to knex's pool. */
const LINGER_MS = 1_000;

/**
 * The lender over knex's pool. Taking a session from knex's pool (tarn) costs two timers
 * and a dozen promises, and an application that awaits one query after another (or serves
 * one request after another) gives its session back and soon asks for one again. So a
 * released session lingers here, for up to a second, and a statement run meanwhile takes
 * it back synchronously (`tryAcquire`), on the session whose prepared statements it
 * already has. The pool's other users (knex builders, transactions, a pool of one) never
 * wait for a lingering session: the moment anyone asks the pool for one, every lingering
 * session goes back to it first (tarn's `acquireRequest`, which runs before the request
 * is queued). While anyone waits in the pool, nothing lingers: sessions go to the waiters
 * in their order, so a loop of statements cannot keep a session from them.
 *
 * Sessions lent inside a `CancelScope` can have their statement cancelled through
 * `control`, and come back (to linger or to the pool) only once such a cancel has been
 * answered. Work in a scope always takes the asynchronous path, where the scope adopts
 * the session.
 */
export function knexPoolLender(knex: Knex, control: SessionControl): ConnectionLender {
  let lingering: DriverConnection[] = [];
  let timer: NodeJS.Timeout | undefined;
  const toPool = (session: DriverConnection) => void knex.client.releaseConnection(session);
  const giveBack = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const sessions = lingering;
    lingering = [];
    for (const session of sessions) toPool(session);
  };
  // Anyone asking the pool (polyrecord itself included, when nothing lingers) gets the lingering sessions first.
  knexPool(knex)?.on('acquireRequest', () => {
    if (lingering.length > 0) giveBack();
  });
  const othersWaiting = () => (knexPool(knex)?.numPendingAcquires() ?? 0) > 0;
  const takeLingering = (): DriverConnection | undefined => {
    if (othersWaiting()) {
      giveBack();
      return undefined;
    }
    for (let session = lingering.pop(); session !== undefined; session = lingering.pop()) {
      // One the driver reported broken goes back to knex, which destroys it.
      if ((session as { __knex__disposed?: unknown }).__knex__disposed === undefined && knex.client.validateConnection(session) === true) return session;
      toPool(session);
    }
    return undefined;
  };
  const linger = (connection: DriverConnection) => {
    if (othersWaiting()) return toPool(connection);
    lingering.push(connection);
    // Not restarted by later releases: a busy connection still cycles its sessions through the pool once a second.
    timer ??= setTimeout(giveBack, LINGER_MS).unref();
  };
  const acquiring = () => {
    const session = takeLingering();
    return session === undefined ? (knex.client.acquireConnection() as Promise<DriverConnection>) : Promise.resolve(session);
  };
  return {
    stats: () => {
      const pool = knexPool(knex);
      const waiting = lingering.length;
      return { used: (pool?.numUsed() ?? 0) - waiting, free: (pool?.numFree() ?? 0) + waiting, pending: pool?.numPendingAcquires() ?? 0 };
    },
    tryAcquire: () => (CancelScope.current() === undefined ? takeLingering() : undefined),
    acquire: () => acquireInScope(acquiring, control, linger),
    release: (connection) => CancelScope.release(connection, linger),
    drain: giveBack,
  };
}

/**
 * knex's logger for one connection: knex warns on pool errors with the driver's
 * message, so the text goes through the password filter first.
 */
export function knexLogger(settings: ConnectionSettings): Knex.Logger {
  const write = (level: 'warn' | 'error' | 'debug', message: unknown) => {
    const text = settings.redact(typeof message === 'string' ? message : JSON.stringify(message) ?? String(message));
    // One line per warning: knex appends the driver error's stack to some (a connection it
    // failed to open); the same error, stack included, rejects the call that needed it.
    if (level !== 'debug') console[level](`[polyrecord:${settings.name}] ${text.split('\n', 1)[0]}`);
  };
  return {
    warn: (message) => write('warn', message),
    error: (message) => write('error', message),
    deprecate: (method, alternative) => write('warn', `${method} is deprecated, use ${alternative}`),
    debug: (message) => write('debug', message),
  };
}
