/**
 * Every error polyrecord throws on purpose is a {@link PolyrecordError}; catch the
 * subclasses to act on a specific failure. None of them ever carries a password.
 *
 * @module
 */

/** Base class of every error thrown by polyrecord. `code` is stable and machine-readable. */
export class PolyrecordError extends Error {
  /** Stable identifier, e.g. `E_CONFIG`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A connection configuration was rejected at `configure()` time.
 *
 * @example
 * ```ts
 * try { manager.configure('db', { driver: 'oracle' } as any) }
 * catch (e) { if (e instanceof ConfigError) console.log(e.field) } // 'driver'
 * ```
 */
export class ConfigError extends PolyrecordError {
  /** The offending field, e.g. `driver`, `port`, `name`. */
  readonly field: string;
  /** The connection (or alias) being configured. */
  readonly connection: string | undefined;

  constructor(field: string, message: string, connection?: string) {
    super('E_CONFIG', connection === undefined ? `${field}: ${message}` : `connection "${connection}": ${field}: ${message}`);
    this.field = field;
    this.connection = connection;
  }
}

/** A connection name (or alias) that is not configured was asked for. The message lists what is. */
export class ConnectionNotFoundError extends PolyrecordError {
  readonly connection: string;
  readonly available: readonly string[];

  constructor(name: string, connections: readonly string[], aliases: readonly string[]) {
    const known = connections.length ? connections.map((n) => `"${n}"`).join(', ') : '(none)';
    const aliasList = aliases.length ? `; aliases: ${aliases.map((n) => `"${n}"`).join(', ')}` : '';
    super('E_CONNECTION_NOT_FOUND', `No connection named "${name}". Configured connections: ${known}${aliasList}`);
    this.connection = name;
    this.available = [...connections, ...aliases];
  }
}

/** `findOrFail()`, `findByOrFail()` or `reload()` found no row: `key` is the primary key, or the conditions of `findByOrFail()`. */
export class RecordNotFoundError extends PolyrecordError {
  readonly model: string;
  readonly key: unknown;

  constructor(model: string, key: unknown) {
    super('E_RECORD_NOT_FOUND', `${model} with primary key ${formatKey(key)} was not found`);
    this.model = model;
    this.key = key;
  }
}

/**
 * A property name that is not a column of the model was used in a query, or an
 * invalid operator or value shape was given. Raised before any SQL is sent.
 */
export class QueryBuilderError extends PolyrecordError {
  constructor(message: string) {
    super('E_INVALID_QUERY', message);
  }
}

/**
 * A value its column cannot hold: the wrong type (`1.5` for an integer, `'yes'` for a
 * boolean, a bigint inside JSON), an invalid date or one outside the supported range,
 * JSON nested deeper than the database accepts. Raised before any SQL is sent, so
 * nothing is written.
 *
 * @example
 * ```ts
 * try { await User.create({ age: 1.5 }) } catch (e) {
 *   if (e instanceof ValidationError) console.log(e.model, e.property, e.expected, e.received) // User age integer number
 * }
 * ```
 */
export class ValidationError extends PolyrecordError {
  /** The model property, when the value was given for one. */
  readonly property: string | undefined;
  /** The model, when known. */
  readonly model: string | undefined;
  /** The column type the value was checked against (`'integer'`, `'date'`, ...), when the type was the problem. */
  readonly expected: string | undefined;
  /** What was given instead: `typeof`, or `'null'`, `'array'`, `'Date'`. */
  readonly received: string | undefined;

  constructor(message: string, property?: string, details: { model?: string; expected?: string; received?: string } = {}) {
    const where = property === undefined ? '' : details.model === undefined ? `${property}: ` : `${details.model}.${property}: `;
    super('E_VALIDATION', `${where}${message}`);
    this.property = property;
    this.model = details.model;
    this.expected = details.expected;
    this.received = details.received;
  }
}

/** A property that is not a declared column of the model was named. Raised before any SQL is sent. */
export class UnknownColumnError extends QueryBuilderError {
  readonly model: string;
  readonly property: string;

  constructor(model: string, property: string, known: readonly string[]) {
    super(`${model} has no column property "${property}". Known properties: ${known.join(', ')}`);
    this.model = model;
    this.property = property;
  }
}

/** A model class is missing its decorators or declares something impossible. */
export class ModelDefinitionError extends PolyrecordError {
  constructor(message: string) {
    super('E_MODEL_DEFINITION', message);
  }
}

/** Where a failed statement broke a rule, as far as the driver reports it (PostgreSQL reports most). */
export interface ViolationDetails {
  /** The table the statement wrote (or read). */
  readonly table?: string;
  /** The constraint or index that refused the row. */
  readonly constraint?: string;
  /** The column it was about. */
  readonly column?: string;
}

/**
 * The database rejected a statement. Wraps the driver's error (`cause`), keeps its
 * `code` as `driverCode` (SQLSTATE on PostgreSQL, error name on MySQL, `SQLITE_*` on SQLite)
 * and names the connection. Passwords are scrubbed from the message. The failures an
 * application acts on have subclasses ({@link UniqueViolationError}, {@link DeadlockError}, …;
 * see docs/errors.md for the driver codes behind each on each database).
 *
 * @example
 * ```ts
 * try { await User.create({ email }) }
 * catch (e) { if (e instanceof UniqueViolationError) return conflict(e.constraint) }
 * ```
 */
export class QueryError extends PolyrecordError {
  readonly connection: string;
  readonly driverCode: string | undefined;
  readonly sql: string | undefined;
  readonly table: string | undefined;
  readonly constraint: string | undefined;
  readonly column: string | undefined;
  /** On the error that ended a transaction run with `retry`: how many times it ran (it is also in the message). */
  declare readonly attempts?: number;

  constructor(connection: string, message: string, driverCode: string | undefined, sql: string | undefined, cause?: unknown, code = 'E_QUERY', details: ViolationDetails = {}) {
    super(code, `[${connection}] ${message}`, { cause });
    this.connection = connection;
    this.driverCode = driverCode;
    this.sql = sql;
    this.table = details.table;
    this.constraint = details.constraint;
    this.column = details.column;
  }
}

/** A statement ran longer than the connection's `queryTimeoutMs` and was cancelled by the server. The connection stays usable. */
export class QueryTimeoutError extends QueryError {
  readonly timeoutMs: number | undefined;

  constructor(connection: string, timeoutMs: number | undefined, driverCode: string | undefined, sql: string | undefined, cause?: unknown) {
    super(connection, `query cancelled after exceeding queryTimeoutMs (${timeoutMs ?? '?'} ms)`, driverCode, sql, cause, 'E_QUERY_TIMEOUT');
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A locking read could not lock its rows: `noWait()` found one locked, or the wait for a
 * lock timed out (then the subclass {@link LockTimeoutError}). Nothing was read; the
 * transaction stays open on PostgreSQL only until it rolls back (a failed statement aborts it there).
 */
export class LockNotAvailableError extends QueryError {
  /** The `code` of this class's errors (a subclass has its own). */
  protected static readonly errorCode: string = 'E_LOCK_NOT_AVAILABLE';

  constructor(connection: string, message: string, driverCode: string | undefined, sql: string | undefined, cause?: unknown) {
    super(connection, message, driverCode, sql, cause, (new.target as typeof LockNotAvailableError).errorCode);
  }
}

/**
 * A statement waited for a lock longer than the server allows (PostgreSQL `lock_timeout`,
 * InnoDB `innodb_lock_wait_timeout`, SQLite's busy timeout: `queryTimeoutMs`). PostgreSQL
 * aborts the transaction; MySQL rolls back only the statement (unless
 * `innodb_rollback_on_timeout`); rerunning the whole transaction later is the safe answer.
 */
export class LockTimeoutError extends LockNotAvailableError {
  protected static override readonly errorCode: string = 'E_LOCK_TIMEOUT';
}

/** A unique index or primary key refused a duplicate. `constraint` names the index where the driver says. */
export class UniqueViolationError extends QueryError {
  constructor(connection: string, message: string, driverCode: string | undefined, sql: string | undefined, cause?: unknown, details?: ViolationDetails) {
    super(connection, message, driverCode, sql, cause, 'E_UNIQUE_VIOLATION', details);
  }
}

/** A row refers to a missing parent, or a parent still has children that refer to it. */
export class ForeignKeyViolationError extends QueryError {
  constructor(connection: string, message: string, driverCode: string | undefined, sql: string | undefined, cause?: unknown, details?: ViolationDetails) {
    super(connection, message, driverCode, sql, cause, 'E_FOREIGN_KEY_VIOLATION', details);
  }
}

/** A NOT NULL column was given null (or, on MySQL in strict mode, left out without a default). */
export class NotNullViolationError extends QueryError {
  constructor(connection: string, message: string, driverCode: string | undefined, sql: string | undefined, cause?: unknown, details?: ViolationDetails) {
    super(connection, message, driverCode, sql, cause, 'E_NOT_NULL_VIOLATION', details);
  }
}

/** A CHECK constraint refused the row. */
export class CheckViolationError extends QueryError {
  constructor(connection: string, message: string, driverCode: string | undefined, sql: string | undefined, cause?: unknown, details?: ViolationDetails) {
    super(connection, message, driverCode, sql, cause, 'E_CHECK_VIOLATION', details);
  }
}

/**
 * The server broke a deadlock by rolling back this transaction. Nothing it wrote is kept;
 * rerunning the whole transaction is safe (never only the failed statement).
 */
export class DeadlockError extends QueryError {
  constructor(connection: string, message: string, driverCode: string | undefined, sql: string | undefined, cause?: unknown) {
    super(connection, message, driverCode, sql, cause, 'E_DEADLOCK');
  }
}

/**
 * A transaction could not be serialized with concurrent ones (PostgreSQL `SERIALIZABLE` /
 * `REPEATABLE READ`, MariaDB with `innodb_snapshot_isolation`, SQLite's stale WAL snapshot).
 * It is rolled back; rerun the whole transaction.
 */
export class SerializationFailureError extends QueryError {
  constructor(connection: string, message: string, driverCode: string | undefined, sql: string | undefined, cause?: unknown) {
    super(connection, message, driverCode, sql, cause, 'E_SERIALIZATION_FAILURE');
  }
}

/**
 * The database could not be reached, or the session broke while in use (the server
 * restarted, the session was killed, the network dropped). Whether a write that was in
 * flight committed is unknown, unless it ran inside a transaction (then it did not).
 */
export class ConnectionLostError extends QueryError {
  constructor(connection: string, message: string, driverCode: string | undefined, sql: string | undefined, cause?: unknown) {
    super(connection, message, driverCode, sql, cause, 'E_CONNECTION_LOST');
  }
}

/**
 * The connection's circuit breaker is open: its database failed at the connection level
 * (lost sessions, refused or timed-out connects) `failureThreshold` times within `windowMs`,
 * so calls fail at once instead of waiting for a pool or a TCP timeout. After `cooldownMs`
 * one call probes the database; when it gets through, the breaker closes.
 */
export class CircuitOpenError extends PolyrecordError {
  readonly connection: string;
  /** About how long until a probe may go through, in ms. */
  readonly retryInMs: number;

  constructor(connection: string, retryInMs: number, cooldownMs: number) {
    super('E_CIRCUIT_OPEN', `[${connection}] circuit open: the database failed repeatedly at the connection level; calls fail at once for ${cooldownMs} ms after the last failure (next probe in ${Math.ceil(retryInMs)} ms)`);
    this.connection = connection;
    this.retryInMs = retryInMs;
  }
}

/**
 * A read that could go to a replica found none up (each is down, or its breaker is open) on a
 * connection configured with `replicaFallback: 'fail'`. With the default `'primary'` such a read
 * goes to the primary instead.
 */
export class ReplicaUnavailableError extends PolyrecordError {
  readonly connection: string;
  /** The replicas tried, with why each was passed over. */
  readonly replicas: readonly { readonly name: string; readonly reason: string }[];

  constructor(connection: string, replicas: readonly { readonly name: string; readonly reason: string }[]) {
    super('E_REPLICA_UNAVAILABLE', `[${connection}] no read replica is up (${replicas.map((r) => `${r.name}: ${r.reason}`).join('; ')}) and replicaFallback is 'fail'`);
    this.connection = connection;
    this.replicas = replicas;
  }
}

/** `withReadAfter()` was given something that is not a token `writeToken()` made (or one made for other databases). */
export class ReadTokenError extends PolyrecordError {
  constructor(message: string) {
    super('E_READ_TOKEN', message);
  }
}

/** Which per-connection limit refused a call (the `limits` connection option). */
export type LimitName = 'maxQueued' | 'queueTimeoutMs' | 'maxRows';

/**
 * A per-connection limit refused a call before it ran (too many callers already waiting for
 * a session, or the wait took too long), or a read answered more rows than `maxRows` (its
 * rows are dropped; nothing was changed). `limit` names which, `value` is its setting.
 */
export class LimitExceededError extends PolyrecordError {
  readonly connection: string;
  readonly limit: LimitName;
  readonly value: number;

  constructor(connection: string, limit: LimitName, value: number, message: string) {
    super('E_LIMIT_EXCEEDED', `[${connection}] ${message} (limits.${limit} = ${value})`);
    this.connection = connection;
    this.limit = limit;
    this.value = value;
  }
}

/** Which {@link QueryError} subclass a driver error is: what each dialect adapter answers from its codes. */
export type DriverFailureKind =
  | 'uniqueViolation'
  | 'foreignKeyViolation'
  | 'notNullViolation'
  | 'checkViolation'
  | 'deadlock'
  | 'serializationFailure'
  | 'lockTimeout'
  | 'lockNotAvailable'
  | 'connectionLost'
  | 'queryTimeout';

/** A driver error as a dialect adapter reads it: its kind, and what the driver said about where. */
export interface DriverFailure extends ViolationDetails {
  readonly kind: DriverFailureKind;
  /** The driver's code under its right name, where the driver misnames it (mysql2 names MariaDB's own errnos as MySQL's). */
  readonly driverCode?: string;
}

/** A transaction was used after it finished, or a transaction control statement failed. */
export class TransactionError extends PolyrecordError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_TRANSACTION', message, options);
  }
}

/** What happened to one branch of a cross-database transaction. */
export interface ParticipantOutcome {
  connection: string;
  outcome: 'not started' | 'active' | 'prepared' | 'committed' | 'rolled back' | 'failed';
  error?: unknown;
}

/**
 * A cross-database transaction did not commit. `outcomes` tells what became of each
 * branch (all rolled back, unless `committed` branches are listed: then see the message).
 */
export class CrossDbTransactionError extends PolyrecordError {
  readonly transactionId: string;
  readonly outcomes: readonly ParticipantOutcome[];
  /** The message without the transaction id prefix. */
  readonly reason: string;

  constructor(transactionId: string, reason: string, outcomes: readonly ParticipantOutcome[], cause?: unknown) {
    super('E_CROSS_DB_TRANSACTION', `cross-database transaction ${transactionId}: ${reason}`, { cause });
    this.transactionId = transactionId;
    this.outcomes = outcomes;
    this.reason = reason;
  }
}

/**
 * A branch was found resolved against the recorded decision (committed where the
 * decision was abort, or the reverse): an operator must look. Never hidden.
 */
export class HeuristicOutcomeError extends PolyrecordError {
  readonly transactionId: string;
  readonly connection: string;

  constructor(transactionId: string, connection: string, message: string) {
    super('E_HEURISTIC_OUTCOME', `cross-database transaction ${transactionId} on "${connection}": ${message}`);
    this.transactionId = transactionId;
    this.connection = connection;
  }
}

function formatKey(key: unknown): string {
  if (key !== null && typeof key === 'object' && !(key instanceof Date)) return JSON.stringify(key, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  return typeof key === 'string' ? JSON.stringify(key) : String(key);
}

/**
 * A saga run did not complete (see `Saga` in `polyrecord`). `status` tells what was done about it:
 *
 * - `'compensated'`: step `failedStep` failed (`cause` is its error) and the undo of
 *   every step completed before it ran, in reverse order. Nothing of the run stands.
 * - `'failed'`: compensation could not finish: the undo of `undoStep` kept failing after
 *   its retries (`cause` is the undo's error; `stepError` the error that started the
 *   compensation). Steps not yet undone still stand; with a log the run stays recorded
 *   as failed and `saga.resume()` goes on compensating it.
 *
 * @example
 * ```ts
 * try { await saga.run(input) }
 * catch (e) { if (e instanceof SagaError && e.status === 'failed') alertOps(e.runId, e.cause) }
 * ```
 */
export class SagaError extends PolyrecordError {
  /** The saga's name. */
  readonly sagaName: string;
  /** The run's id in the saga's log; undefined for a saga without a log. */
  readonly runId: string | undefined;
  readonly status: 'compensated' | 'failed';
  /** The step whose failure started the compensation (undefined when `resume()` compensated an interrupted run). */
  readonly failedStep: string | undefined;
  /** With status `'failed'`: the step whose undo (or whose log write) could not be done. */
  readonly undoStep: string | undefined;
  /** The error that started the compensation (the same as `cause` when status is `'compensated'`). */
  readonly stepError: unknown;

  constructor(
    message: string,
    details: { sagaName: string; runId: string | undefined; status: 'compensated' | 'failed'; failedStep?: string; undoStep?: string; stepError?: unknown; cause: unknown },
  ) {
    super('E_SAGA', message, { cause: details.cause });
    this.sagaName = details.sagaName;
    this.runId = details.runId;
    this.status = details.status;
    this.failedStep = details.failedStep;
    this.undoStep = details.undoStep;
    this.stepError = details.stepError;
  }
}
