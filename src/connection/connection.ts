import type { Knex } from 'knex';
import { inspect } from 'node:util';
import { ConnectionLostError, PolyrecordError, QueryError } from '../errors.js';
import { typedQueryError } from './query-errors.js';
import { nativeStatement, type StatementBuilder } from './builder-statement.js';
import { CircuitBreaker, type CircuitEvent, type CircuitState } from './breaker.js';
import type { HealthReport } from './health-report.js';
import { LimitGate, type LimitStats } from './limiter.js';
import type { ConnectionSettings, DriverName } from './config.js';
import { driverErrorCode, type DialectAdapter, type DriverConnection, type ExecOptions, type ExecResult, type OpenedDriver, type PoolStats, type PreparedStatement, type ReplyCounts, type ReportStatement, type TwoPhaseSupport } from './dialects/dialect.js';
import { reportKnexQueries } from './knex-query-events.js';
import { noQueryListeners, type QueryEvent, type QueryEventSink } from './query-event.js';
import { StatementCache, type StatementCacheStats } from './statement-cache.js';
import { reportedTwoPhase } from './two-phase-reported.js';
import { Replica, type ReplicaStatus } from './replicas/replica.js';
import { ReplicaRouter } from './replicas/replica-router.js';

const RAW: ExecOptions = { prepare: 'never' };

/** Something a connection reports once without failing any query (the server refusing to prepare, say). */
export interface ConnectionWarning {
  /** The connection's name. */
  readonly connection: string;
  /** What happened, e.g. `E_PREPARE_REFUSED`. */
  readonly code: string;
  /** What happened and what to do about it; never contains the password. */
  readonly message: string;
  /** The driver's error code behind it, if any. */
  readonly driverCode: string | undefined;
}

/** What `connection.status()` and `ConnectionManager.status()` report. */
export interface ConnectionStatus {
  readonly name: string;
  readonly driver: DriverName;
  /** Whether the pool has been created. */
  readonly open: boolean;
  /** Sessions in use, idle, and callers waiting for one; undefined before first use. */
  readonly pool: PoolStats | undefined;
  /** The cache of server-side prepared statements. */
  readonly statements: StatementCacheStats;
  /** The circuit breaker's state (`'closed'` without a breaker). */
  readonly circuit: CircuitState;
  /** The last probe of `manager.monitor()`, if it runs. */
  readonly health: HealthReport | undefined;
  /** With `limits`: sessions lent through the gate, callers waiting, calls refused so far. */
  readonly limits: LimitStats | undefined;
  /** With `replicas`: each replica's own status (pool, breaker, health) and what reads learnt of it (lag, position, reads answered). */
  readonly replicas?: readonly (ConnectionStatus & { readonly replica: ReplicaStatus })[];
}

/** Where warnings go when the connection was made without a manager to route them. */
function emitProcessWarning(warning: ConnectionWarning): void {
  process.emitWarning(warning.message, { code: `POLYRECORD_${warning.code}` });
}

/**
 * One named database connection (a pool, or SQLite's single gated connection).
 * Connects lazily on first use. Obtain it with `ConnectionManager.get(name)`.
 */
export class Connection {
  /** The canonical name (aliases resolve to this). */
  readonly name: string;
  /** Validated settings, password hidden. */
  readonly settings: ConnectionSettings;
  /** The dialect adapter: everything dialect-specific. */
  readonly dialect: DialectAdapter;
  #driver: OpenedDriver | undefined;
  #closed = false;
  readonly #statements: StatementCache;
  readonly #onWarning: (warning: ConnectionWarning) => void;
  readonly #warned = new Set<string>();
  readonly #queries: QueryEventSink;
  readonly #breaker: CircuitBreaker | undefined;
  readonly #gate: LimitGate | undefined;
  readonly #maxRows: number | undefined;
  readonly #router: ReplicaRouter<Connection> | undefined;
  #health: HealthReport | undefined;
  #twoPhase: TwoPhaseSupport | undefined;

  /**
   * @internal Use `ConnectionManager.configure()`; `onWarning` receives what must be reported but
   * fails no query, `queries` every statement sent (the manager's `'query'` event).
   */
  constructor(settings: ConnectionSettings, dialect: DialectAdapter, onWarning: (warning: ConnectionWarning) => void = emitProcessWarning, queries: QueryEventSink = noQueryListeners, onCircuit: (event: CircuitEvent) => void = () => undefined) {
    this.name = settings.name;
    this.settings = settings;
    this.dialect = dialect;
    this.#statements = new StatementCache(settings.statementCacheSize, settings.prepareThreshold, dialect.plansGoStale);
    this.#onWarning = onWarning;
    this.#queries = queries;
    this.#breaker = settings.breaker === undefined ? undefined : new CircuitBreaker(settings.name, settings.breaker, onCircuit);
    const limits = settings.limits;
    this.#gate = limits === undefined ? undefined : new LimitGate(settings.name, limits);
    this.#maxRows = limits?.maxRows;
    const replication = settings.replication;
    if (replication !== undefined) {
      const replicas = replication.replicas.map((replica, index) => new Replica(new Connection(replica, dialect, onWarning, queries, onCircuit), index, dialect.replication));
      this.#router = new ReplicaRouter(settings.name, replication, replicas, dialect.replication, (sql, bindings, options) => this.#executeHere(sql, bindings, options));
    }
  }

  /** The connections of this connection's read replicas (`replicas`), each with its own pool and breaker. */
  get replicas(): readonly Connection[] {
    return this.#router?.replicas.map((replica) => replica.connection) ?? [];
  }

  /** @internal The replicas' router: read-your-writes positions for `writeToken()`. */
  get replicaRouter(): ReplicaRouter<Connection> | undefined {
    return this.#router;
  }

  /** The circuit breaker's state (`'closed'` when the connection has none). */
  get circuitState(): CircuitState {
    return this.#breaker?.state ?? 'closed';
  }

  /** Whether a call would get through the circuit breaker now (always, without one): a replica that would not is skipped. */
  get admitsCalls(): boolean {
    return this.#breaker?.admits ?? true;
  }

  get driver(): DriverName {
    return this.settings.driver;
  }

  /** Whether the pool has been created (first use happened and `close()` has not). */
  get isOpen(): boolean {
    return this.#driver !== undefined;
  }

  /**
   * The knex instance, for queries polyrecord does not model (schema changes, reports).
   * Inside `ConnectionManager.transaction()` use `trx.table()` / `trx.query()` instead,
   * so the statement joins the transaction.
   */
  get knex(): Knex {
    return this.#open().knex;
  }

  #open(): OpenedDriver {
    if (this.#closed) throw new PolyrecordError('E_CONNECTION_CLOSED', `connection "${this.name}" has been closed`);
    if (this.#driver === undefined) {
      const opened = this.dialect.open(this.settings);
      // A connection with concurrency limits lends its sessions through the gate.
      this.#driver = this.#gate !== undefined && this.settings.limits?.maxConcurrent !== undefined ? { ...opened, lender: this.#gate.wrap(opened.lender, this.dialect.singleSession) } : opened;
      this.#driver.onSessionClosed((connection) => this.#statements.dropSession(connection));
      reportKnexQueries(this.#driver.knex, { listening: () => this.#listening(), report: (...args) => this.#report(...args) });
    }
    return this.#driver;
  }

  /**
   * Runs one statement (native placeholders) on a pooled connection, outside any
   * transaction. A statement whose `prepare` policy allows it goes through the
   * connection's bounded cache of server-side prepared statements.
   */
  execute(sql: string, bindings: readonly unknown[], options: ExecOptions = RAW): Promise<ExecResult> {
    try {
      const result = this.executeNow(sql, bindings, options);
      return result instanceof Promise ? result : Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * @internal Runs a knex builder as one statement, through {@link execute} (or {@link executeOn}
   * on `session`, a driver connection the caller holds): polyrecord's own bookkeeping (logs,
   * checkpoints, outbox) gets typed errors, the password filter, query events, the breaker
   * and limits like every model statement.
   */
  async runBuilder(builder: StatementBuilder, options: ExecOptions = RAW, session?: DriverConnection): Promise<ExecResult> {
    const { sql, bindings } = nativeStatement(builder);
    return session === undefined ? this.execute(sql, bindings, options) : this.executeOn(session, sql, bindings, options);
  }

  /**
   * {@link execute}, answering synchronously where the driver did (SQLite, its session
   * free): a caller that only transforms the result spares a promise and a turn. Throws
   * what `execute` would reject with.
   *
   * With `replicas`, a statement marked `readOnly` may be answered by a replica (see
   * docs/replicas.md); anything else runs here and counts as a write for read-your-writes.
   */
  executeNow(sql: string, bindings: readonly unknown[], options: ExecOptions = RAW): ExecResult | Promise<ExecResult> {
    const router = this.#router;
    if (router === undefined) return this.#executeHere(sql, bindings, options);
    if (options.readOnly === true) return router.read(sql, bindings, options);
    const written = this.#executeHere(sql, bindings, options);
    // Whatever the outcome (a lost session may have committed), reads in scope must now see this write.
    if (!(written instanceof Promise)) {
      router.noteWrite();
      return written;
    }
    return written.then(
      (answer) => {
        router.noteWrite();
        return answer;
      },
      (error: unknown) => {
        router.noteWrite();
        throw error;
      },
    );
  }

  /**
   * {@link executeNow} on this database itself (the primary), never on a replica. `retries`:
   * how many more runs an idempotent statement gets if its session is lost; left out, the
   * connection's `lostSessionRetries` (see `ExecOptions.idempotent`).
   */
  #executeHere(sql: string, bindings: readonly unknown[], options: ExecOptions, retries?: number): ExecResult | Promise<ExecResult> {
    // Opened first: a closed connection's error must not take a half-open breaker's one probe.
    const { lender } = this.#open();
    this.#breaker?.admit();
    let connection: DriverConnection | undefined;
    try {
      connection = lender.tryAcquire();
    } catch (error) {
      this.#breaker?.failed();
      throw this.#acquireError(error);
    }
    if (connection === undefined) return this.#executeQueued(sql, bindings, options, retries);
    let result: ExecResult | Promise<ExecResult>;
    try {
      result = this.run(connection, sql, bindings, options, false);
    } catch (error) {
      lender.release(connection);
      throw error;
    }
    if (!(result instanceof Promise)) {
      lender.release(connection);
      return result;
    }
    // then() rather than finally(): finally() waits one more turn before passing the answer on.
    return result.then(
      (answer) => {
        lender.release(connection);
        return answer;
      },
      (error: unknown) => {
        if (error instanceof ConnectionLostError) return this.#afterLostSession(connection, error, sql, bindings, options, retries ?? this.#lostSessionRetries(options));
        lender.release(connection);
        throw error;
      },
    );
  }

  /**
   * A statement's session broke under it: the session is closed, never lent again (the pool
   * opens another), and an idempotent statement with retries left runs again on a fresh one.
   */
  async #afterLostSession(connection: DriverConnection, error: ConnectionLostError, sql: string, bindings: readonly unknown[], options: ExecOptions, retries: number): Promise<ExecResult> {
    await this.#discard(connection);
    if (retries > 0) return this.#executeHere(sql, bindings, options, retries - 1);
    throw error;
  }

  /** Reruns a statement gets after losing its session: only an idempotent one gets any. */
  #lostSessionRetries(options: ExecOptions): number {
    return options.idempotent === true ? this.settings.lostSessionRetries : 0;
  }

  async #executeQueued(sql: string, bindings: readonly unknown[], options: ExecOptions, retries: number | undefined): Promise<ExecResult> {
    const connection = await this.#acquire();
    let result: ExecResult;
    try {
      result = await this.run(connection, sql, bindings, options, false);
    } catch (error) {
      if (error instanceof ConnectionLostError) return this.#afterLostSession(connection, error, sql, bindings, options, retries ?? this.#lostSessionRetries(options));
      this.#giveBack(connection);
      throw error;
    }
    this.#giveBack(connection);
    return result;
  }

  /** Runs one statement on a driver connection this caller holds (a transaction's). */
  executeOn(connection: DriverConnection, sql: string, bindings: readonly unknown[], options: ExecOptions = RAW): Promise<ExecResult> {
    try {
      return Promise.resolve(this.run(connection, sql, bindings, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs one statement on a held driver connection, synchronously where the driver is
   * (SQLite), so loops over many rows need no promise per row. Errors are {@link QueryError}s.
   * `inTransaction` is what its query event says: the session is a transaction's (the
   * default), or was taken from the pool for this statement alone ({@link execute}).
   */
  run(connection: DriverConnection, sql: string, bindings: readonly unknown[], options: ExecOptions = RAW, inTransaction = true): ExecResult | Promise<ExecResult> {
    // With nobody listening for query events, a statement costs one listener count: no timing, no allocation.
    if (this.#breaker !== undefined || this.#maxRows !== undefined) return this.#guarded(connection, sql, bindings, options, inTransaction);
    if (this.#queries.listenerCount('query') === 0) return this.#plan(connection, sql, bindings, options);
    return this.#runReported(connection, sql, bindings, options, inTransaction);
  }

  /**
   * {@link run} on a connection with a breaker or `maxRows`: tells the breaker whether the
   * statement reached the database (any answer, even an error, did; a lost session did not),
   * and refuses an answer of more rows than allowed.
   */
  #guarded(connection: DriverConnection, sql: string, bindings: readonly unknown[], options: ExecOptions, inTransaction: boolean): ExecResult | Promise<ExecResult> {
    const breaker = this.#breaker;
    let result: ExecResult | Promise<ExecResult>;
    try {
      result = this.#queries.listenerCount('query') === 0 ? this.#plan(connection, sql, bindings, options) : this.#runReported(connection, sql, bindings, options, inTransaction);
    } catch (error) {
      // Refused before it was sent (a binding the driver rejects): the database was not the problem.
      if (error instanceof ConnectionLostError) breaker?.failed();
      else breaker?.succeeded();
      throw error;
    }
    if (!(result instanceof Promise)) return this.#capped(result);
    return result.then(
      (answer) => {
        breaker?.succeeded();
        return this.#capped(answer);
      },
      (error: unknown) => {
        if (error instanceof ConnectionLostError) breaker?.failed();
        else breaker?.succeeded();
        throw error;
      },
    );
  }

  #capped(result: ExecResult): ExecResult {
    if (this.#maxRows !== undefined && result.rows.length > this.#maxRows) throw this.#gate!.refuseRows(result.rows.length);
    return result;
  }

  #runReported(connection: DriverConnection, sql: string, bindings: readonly unknown[], options: ExecOptions, inTransaction: boolean): ExecResult | Promise<ExecResult> {
    const start = performance.now();
    let result: ExecResult | Promise<ExecResult>;
    try {
      result = this.#plan(connection, sql, bindings, options);
    } catch (error) {
      this.#report(sql, bindings, inTransaction, start, undefined, error);
      throw error;
    }
    if (!(result instanceof Promise)) {
      this.#report(sql, bindings, inTransaction, start, result, undefined);
      return result;
    }
    return this.#reportSettled(result, sql, bindings, inTransaction, start, (done) => done);
  }

  /** Reports a statement once its answer (counted by `count`) or its failure arrives. */
  #reportSettled<T>(pending: Promise<T>, sql: string, bindings: readonly unknown[], inTransaction: boolean, start: number, count: (reply: T) => ReplyCounts | ExecResult | undefined): Promise<T> {
    return pending.then(
      (reply) => {
        this.#report(sql, bindings, inTransaction, start, count(reply), undefined);
        return reply;
      },
      (error: unknown) => {
        this.#report(sql, bindings, inTransaction, start, undefined, error);
        throw error;
      },
    );
  }

  #listening(): boolean {
    return this.#queries.listenerCount('query') !== 0;
  }

  /** Tells the query listeners about one statement; a listener that throws changes nothing for the statement. */
  #report(sql: string, bindings: readonly unknown[], inTransaction: boolean, start: number, counts: ReplyCounts | ExecResult | undefined, error: unknown): void {
    if (!this.#listening()) return;
    const durationMs = performance.now() - start;
    const event: QueryEvent = {
      connection: this.name,
      sql: this.settings.hasPassword ? this.settings.redact(sql) : sql,
      bindings,
      durationMs,
      rows: counts === undefined ? 0 : typeof counts.rows === 'number' ? counts.rows : counts.rows.length,
      affected: counts?.affected ?? 0,
      inTransaction,
      ...(error === undefined ? {} : { error: this.toQueryError(error, sql) }),
    };
    try {
      this.#queries.emit('query', event);
    } catch (listenerError) {
      this.#warnOnce('E_QUERY_LISTENER_FAILED', `a 'query' event listener threw (${this.settings.redact(listenerError instanceof Error ? listenerError.message : String(listenerError))}); the statement's outcome is unchanged`, listenerError);
    }
  }

  /** Sends a statement a dialect writes itself (two-phase commit) through `send`, reported as a query event. */
  readonly #reportStatement: ReportStatement = (sql, bindings, inTransaction, send, count) => {
    if (!this.#listening()) return send();
    const start = performance.now();
    return this.#reportSettled(send(), sql, bindings, inTransaction, start, (reply) => count?.(reply));
  };

  /**
   * Two-phase commit on this connection's database (undefined where it has none, SQLite),
   * its statements reported as query events.
   */
  get twoPhase(): TwoPhaseSupport | undefined {
    const twoPhase = this.dialect.twoPhase;
    if (twoPhase === undefined) return undefined;
    return (this.#twoPhase ??= reportedTwoPhase(twoPhase, this.#reportStatement));
  }

  #plan(connection: DriverConnection, sql: string, bindings: readonly unknown[], options: ExecOptions): ExecResult | Promise<ExecResult> {
    const statement = this.#statements.plan(connection, sql, options.prepare ?? 'never');
    // Release first what the session gave up to make room for a new statement.
    const evicted = this.#statements.takeEvicted(connection);
    if (evicted !== undefined) {
      const released = this.#unprepare(connection, evicted);
      if (released) return released.then(() => this.#runWith(connection, sql, bindings, statement, options));
    }
    return this.#runWith(connection, sql, bindings, statement, options);
  }

  #runWith(connection: DriverConnection, sql: string, bindings: readonly unknown[], statement: PreparedStatement | undefined, options: ExecOptions): ExecResult | Promise<ExecResult> {
    let result: ExecResult | Promise<ExecResult>;
    try {
      result = this.dialect.execute(connection, sql, bindings, statement, options);
    } catch (error) {
      return this.#afterFailure(connection, sql, bindings, statement, options, error);
    }
    if (result instanceof Promise) return result.catch((error: unknown) => this.#afterFailure(connection, sql, bindings, statement, options, error));
    return result;
  }

  /**
   * A prepared run failed. When the server refused to prepare (its statement limit is
   * full) or the plan went stale under an ALTER TABLE, the statement runs unprepared
   * instead: a cache must never fail a query. Anything else is the query's own error.
   */
  #afterFailure(connection: DriverConnection, sql: string, bindings: readonly unknown[], statement: PreparedStatement | undefined, options: ExecOptions, error: unknown): ExecResult | Promise<ExecResult> {
    if (statement === undefined) throw this.toQueryError(error, sql);
    const refused = this.dialect.isPrepareRefused(error);
    if (!refused && !this.dialect.isStalePlan(error)) throw this.toQueryError(error, sql);
    this.#statements.forget(connection, statement, refused);
    if (refused) {
      this.#warnOnce('E_PREPARE_REFUSED', `the server refused to prepare another statement (${this.settings.redact(error instanceof Error ? error.message : String(error))}); statements run unprepared until it accepts again. Lower statementCacheSize, or raise the server's limit (MariaDB/MySQL max_prepared_stmt_count).`, error);
    }
    const released = this.#unprepare(connection, [statement]);
    const rerun = () => this.#runWith(connection, sql, bindings, undefined, options);
    return released ? released.then(rerun) : rerun();
  }

  #unprepare(connection: DriverConnection, statements: readonly PreparedStatement[]): Promise<void> | undefined {
    let pending: Promise<void> | undefined;
    for (const statement of statements) {
      const released = this.dialect.unprepare(connection, statement);
      if (released) pending = pending ? pending.then(() => released) : released;
    }
    return pending;
  }

  #warnOnce(code: string, message: string, cause: unknown): void {
    if (this.#warned.has(code)) return;
    this.#warned.add(code);
    this.#onWarning({ connection: this.name, code, message: `[${this.name}] ${message}`, driverCode: driverErrorCode(cause) });
  }

  /** Pool and statement-cache figures, for dashboards and health endpoints. */
  status(): ConnectionStatus {
    return {
      name: this.name,
      driver: this.driver,
      open: this.isOpen,
      pool: this.#driver?.lender.stats(),
      statements: this.#statements.stats(),
      circuit: this.circuitState,
      health: this.#health,
      limits: this.#gate?.stats(),
      ...(this.#router === undefined ? {} : { replicas: this.#router.replicas.map((replica) => ({ ...replica.connection.status(), replica: replica.status() })) }),
    };
  }

  /** @internal The monitor's last probe of this connection, for {@link status}. */
  noteHealth(report: HealthReport): void {
    this.#health = report;
  }

  /** Takes a driver connection out of the pool; give it back with {@link release}. Fails at once while the circuit breaker is open. */
  acquire(): Promise<DriverConnection> {
    try {
      this.#breaker?.admit();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#acquire();
  }

  async #acquire(): Promise<DriverConnection> {
    let connection: DriverConnection;
    try {
      connection = await this.#open().lender.acquire();
    } catch (error) {
      this.#breaker?.failed();
      throw this.#acquireError(error);
    }
    // A session was had: a half-open breaker's probe got through (a dead one fails its first statement and opens it again).
    this.#breaker?.succeeded();
    return connection;
  }

  // polyrecord's own errors (a SQLite directory that does not exist, a session this scope holds) say what to do as they are.
  #acquireError(error: unknown): Error {
    return error instanceof PolyrecordError ? error : this.toQueryError(error, undefined);
  }

  /**
   * Runs `fn` as the holder of a session acquired for it (a transaction's callback): where
   * the pool has a single session (SQLite), an acquire from inside `fn` fails fast with a
   * TransactionError instead of waiting for itself forever.
   */
  whileHeld<T>(fn: () => Promise<T>): Promise<T> {
    const lender = this.#driver?.lender;
    return lender?.whileHeld ? lender.whileHeld(fn) : fn();
  }

  /**
   * Gives back a driver connection taken with {@link acquire}. With replicas, what the holder did
   * (a transaction) counts as a write: reads in its scope must see it.
   */
  release(connection: DriverConnection): void {
    this.#router?.noteWrite();
    this.#giveBack(connection);
  }

  #giveBack(connection: DriverConnection): void {
    this.#driver?.lender.release(connection);
  }

  /** Closes a driver connection and gives it back so the pool replaces it (never lends it again). */
  async discard(connection: DriverConnection): Promise<void> {
    this.#router?.noteWrite();
    await this.#discard(connection);
  }

  async #discard(connection: DriverConnection): Promise<void> {
    this.#statements.dropSession(connection);
    await this.dialect.discard(connection);
    this.#giveBack(connection);
  }

  /** Closes every pooled connection. The connection cannot be used afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    const driver = this.#driver;
    this.#driver = undefined;
    this.#statements.clear();
    // Sessions kept for a next statement count as lent to the pool, which would wait for them before closing.
    driver?.lender.drain?.();
    await Promise.all([driver?.close(), ...this.replicas.map((replica) => replica.close())]);
  }

  /** Wraps a driver error: keeps its code, names this connection, never shows the password. */
  toQueryError(error: unknown, text: string | undefined): QueryError {
    if (error instanceof QueryError) return error;
    this.#scrub(error);
    // The statement's text may quote the password too (a literal, a name made from it).
    const sql = text === undefined ? undefined : this.settings.redact(text);
    const message = this.settings.redact(error instanceof Error ? error.message : String(error));
    // Read after the scrub: the adapter takes the table, column and constraint from the fields it cleaned.
    const failure = this.dialect.classifyError(error, text);
    return typedQueryError(failure, { connection: this.name, message, driverCode: failure?.driverCode ?? driverErrorCode(error), sql, cause: error, timeoutMs: this.settings.queryTimeoutMs });
  }

  /**
   * Filters the password out of the driver's own error too: it stays reachable as the
   * `cause`, and `util.inspect` (so `console.log` and most loggers) prints the cause's
   * message, stack and, for mysql2, `sqlMessage`.
   */
  #scrub(error: unknown): void {
    if (!this.settings.hasPassword || error === null || typeof error !== 'object') return;
    const fields = error as Record<string, unknown>;
    // mysql2 and knex attach the statement's text as `sql`; pg names the schema, table, column and constraint it refused.
    for (const field of ['message', 'stack', 'sqlMessage', 'detail', 'hint', 'sql', 'schema', 'table', 'column', 'constraint']) {
      const value = fields[field];
      if (typeof value === 'string') {
        const clean = this.settings.redact(value);
        if (clean !== value) Object.defineProperty(error, field, { value: clean, writable: true, configurable: true, enumerable: Object.prototype.propertyIsEnumerable.call(error, field) });
      }
    }
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, driver: this.driver, open: this.isOpen, settings: this.settings.toJSON() };
  }

  toString(): string {
    return `Connection(${this.name}: ${this.driver})`;
  }

  [inspect.custom](): string {
    return `Connection ${inspect(this.toJSON())}`;
  }
}
