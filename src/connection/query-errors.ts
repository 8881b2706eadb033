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

/** The {@link QueryError} subclass for what the dialect adapter read from the driver's error (a plain QueryError for anything else). */
export function typedQueryError(failure: DriverFailure | undefined, f: FailedStatement): QueryError {
  const details = { table: failure?.table, constraint: failure?.constraint, column: failure?.column };
  switch (failure?.kind) {
    case 'uniqueViolation':
      return new UniqueViolationError(f.connection, f.message, f.driverCode, f.sql, f.cause, details);
    case 'foreignKeyViolation':
      return new ForeignKeyViolationError(f.connection, f.message, f.driverCode, f.sql, f.cause, details);
    case 'notNullViolation':
      return new NotNullViolationError(f.connection, f.message, f.driverCode, f.sql, f.cause, details);
    case 'checkViolation':
      return new CheckViolationError(f.connection, f.message, f.driverCode, f.sql, f.cause, details);
    case 'deadlock':
      return new DeadlockError(f.connection, f.message, f.driverCode, f.sql, f.cause);
    case 'serializationFailure':
      return new SerializationFailureError(f.connection, f.message, f.driverCode, f.sql, f.cause);
    case 'lockTimeout':
      return new LockTimeoutError(f.connection, f.message, f.driverCode, f.sql, f.cause);
    case 'lockNotAvailable':
      return new LockNotAvailableError(f.connection, f.message, f.driverCode, f.sql, f.cause);
    case 'connectionLost':
      return new ConnectionLostError(f.connection, f.message, f.driverCode, f.sql, f.cause);
    case 'queryTimeout':
      return new QueryTimeoutError(f.connection, f.timeoutMs, f.driverCode, f.sql, f.cause);
    default:
      return new QueryError(f.connection, f.message, f.driverCode, f.sql, f.cause);
  }
}
