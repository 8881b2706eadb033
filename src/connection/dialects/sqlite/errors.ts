import type { DriverFailure, DriverFailureKind } from '../../../errors.js';
import { driverErrorCode } from '../dialect.js';

// better-sqlite3 reports SQLite's extended result codes by name.
const BY_CODE: Record<string, DriverFailureKind> = {
  SQLITE_CONSTRAINT_UNIQUE: 'uniqueViolation',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'uniqueViolation',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'foreignKeyViolation',
  SQLITE_CONSTRAINT_NOTNULL: 'notNullViolation',
  SQLITE_CONSTRAINT_CHECK: 'checkViolation',
  // The busy timeout (queryTimeoutMs) ran out waiting for another connection's write lock.
  SQLITE_BUSY: 'lockTimeout',
  SQLITE_BUSY_TIMEOUT: 'lockTimeout',
  SQLITE_LOCKED: 'lockTimeout',
  // A transaction that read an older snapshot of a WAL database tried to write: it cannot be serialized.
  SQLITE_BUSY_SNAPSHOT: 'serializationFailure',
};

/** Reads a better-sqlite3 error. SQLite runs in this process: no deadlock (one writer at a time), no lost session, no server-side timeout. */
export function classifySqliteError(error: unknown): DriverFailure | undefined {
  const code = driverErrorCode(error);
  const kind = code === undefined ? undefined : BY_CODE[code];
  if (kind === undefined) return undefined;
  const message = error instanceof Error ? error.message : '';
  if (kind === 'checkViolation') return { kind, constraint: /constraint failed: (.+)$/.exec(message)?.[1] };
  // `UNIQUE constraint failed: users.email`, `NOT NULL constraint failed: users.name` (a composite key lists several).
  const target = /constraint failed: ([^.,\s]+)\.([^,\s]+)$/.exec(message);
  return target ? { kind, table: target[1], column: target[2] } : { kind };
}
