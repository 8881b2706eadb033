import type { DriverFailure, DriverFailureKind } from '../../../errors.js';
import { driverErrorCode, isNetworkFailure } from '../dialect.js';

/** What pg's errors carry besides the SQLSTATE (from the server's ErrorResponse fields). */
interface PgErrorFields {
  readonly message?: string;
  readonly table?: string;
  readonly constraint?: string;
  readonly column?: string;
  readonly detail?: string;
}

// SQLSTATEs (PostgreSQL, Appendix A) → the typed error each becomes.
const BY_SQLSTATE: Record<string, DriverFailureKind> = {
  '23505': 'uniqueViolation',
  '23503': 'foreignKeyViolation',
  '23502': 'notNullViolation',
  '23514': 'checkViolation',
  '40P01': 'deadlock',
  '40001': 'serializationFailure',
  '57014': 'queryTimeout',
  // admin_shutdown (pg_terminate_backend, a stopping server), crash_shutdown, cannot_connect_now (starting up).
  '57P01': 'connectionLost',
  '57P02': 'connectionLost',
  '57P03': 'connectionLost',
};

// pg reports a socket that closed under a query without any code, by these messages.
const LOST_MESSAGE = /^Connection terminated|not queryable|Connection ended unexpectedly/;

/** The one column of `Key (email)=(…)` in a constraint error's detail (none for a composite key). */
function keyColumn(detail: string | undefined): string | undefined {
  const match = detail === undefined ? null : /^Key \(([^),]+)\)=/.exec(detail);
  return match?.[1];
}

/** Reads a pg error: SQLSTATE first, then the socket failures pg reports without one. */
export function classifyPostgresError(error: unknown): DriverFailure | undefined {
  const code = driverErrorCode(error);
  const fields = (error ?? {}) as PgErrorFields;
  let kind: DriverFailureKind | undefined = code === undefined ? undefined : BY_SQLSTATE[code];
  // 55P03 lock_not_available is both NOWAIT and lock_timeout; only the message tells them apart.
  if (code === '55P03') kind = /lock timeout/.test(fields.message ?? '') ? 'lockTimeout' : 'lockNotAvailable';
  // Class 08: connection exceptions.
  if (kind === undefined && (code?.startsWith('08') || isNetworkFailure(error) || (code === undefined && LOST_MESSAGE.test(fields.message ?? '')))) kind = 'connectionLost';
  if (kind === undefined) return undefined;
  return { kind, table: fields.table, constraint: fields.constraint, column: fields.column ?? keyColumn(fields.detail) };
}
