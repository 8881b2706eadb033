import {
  CheckViolationError,
  ConnectionLostError,
  DeadlockError,
  ForeignKeyViolationError,
  LockNotAvailableError,
  LockTimeoutError,
  NotNullViolationError,
  QueryError,
  QueryTimeoutError,
  SerializationFailureError,
  UniqueViolationError,
  type DriverFailure,
  type DriverFailureKind,
  type ViolationDetails,
} from '../errors.js';

/** What a failed statement's error is built from, already cleaned of any password. */
export interface FailedStatement {
  readonly connection: string;
  readonly message: string;
  readonly driverCode: string | undefined;
  readonly sql: string | undefined;
  readonly cause: unknown;
  /** The connection's `queryTimeoutMs`, which a `QueryTimeoutError` reports. */
  readonly timeoutMs: number | undefined;
}

type TypedErrorClass = new (connection: string, message: string, driverCode: string | undefined, sql: string | undefined, cause?: unknown, details?: ViolationDetails) => QueryError;

// Which class each kind becomes (the timeout has its own message: below).
const CLASSES: Record<Exclude<DriverFailureKind, 'queryTimeout'>, TypedErrorClass> = {
  uniqueViolation: UniqueViolationError,
  foreignKeyViolation: ForeignKeyViolationError,
  notNullViolation: NotNullViolationError,
  checkViolation: CheckViolationError,
  deadlock: DeadlockError,
  serializationFailure: SerializationFailureError,
  lockTimeout: LockTimeoutError,
  lockNotAvailable: LockNotAvailableError,
  connectionLost: ConnectionLostError,
};

/** The {@link QueryError} subclass for what the dialect adapter read from the driver's error (a plain QueryError for anything else). */
export function typedQueryError(failure: DriverFailure | undefined, f: FailedStatement): QueryError {
  if (failure === undefined) return new QueryError(f.connection, f.message, f.driverCode, f.sql, f.cause);
  if (failure.kind === 'queryTimeout') return new QueryTimeoutError(f.connection, f.timeoutMs, f.driverCode, f.sql, f.cause);
  return new CLASSES[failure.kind](f.connection, f.message, f.driverCode, f.sql, f.cause, failure);
}
