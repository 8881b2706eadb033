import type { DriverFailure, DriverFailureKind } from '../../../errors.js';
import { driverErrorCode, isNetworkFailure } from '../dialect.js';

/** What mysql2's errors carry: the server's errno and message, and whether the session is unusable. */
interface MysqlErrorFields {
  readonly errno?: number;
  readonly sqlMessage?: string;
  readonly message?: string;
  readonly fatal?: boolean;
}

// Server error numbers (MySQL and MariaDB share them below 3000; 3xxx are MySQL's, 4xxx MariaDB's).
const BY_ERRNO: Record<number, DriverFailureKind> = {
  1062: 'uniqueViolation', // ER_DUP_ENTRY
  1216: 'foreignKeyViolation', // ER_NO_REFERENCED_ROW
  1217: 'foreignKeyViolation', // ER_ROW_IS_REFERENCED
  1451: 'foreignKeyViolation', // ER_ROW_IS_REFERENCED_2
  1452: 'foreignKeyViolation', // ER_NO_REFERENCED_ROW_2
  1048: 'notNullViolation', // ER_BAD_NULL_ERROR
  1364: 'notNullViolation', // ER_NO_DEFAULT_FOR_FIELD (strict mode: a NOT NULL column left out)
  3819: 'checkViolation', // ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
  1213: 'deadlock', // ER_LOCK_DEADLOCK
  1020: 'serializationFailure', // ER_CHECKREAD (MariaDB, innodb_snapshot_isolation)
  1205: 'lockTimeout', // ER_LOCK_WAIT_TIMEOUT (MariaDB answers NOWAIT with it too)
  3572: 'lockNotAvailable', // ER_LOCK_NOWAIT (MySQL)
  1969: 'queryTimeout', // ER_STATEMENT_TIMEOUT (MariaDB max_statement_time)
  3024: 'queryTimeout', // ER_QUERY_TIMEOUT (MySQL max_execution_time)
  1927: 'connectionLost', // ER_CONNECTION_KILLED (MariaDB: KILL of this session)
  1053: 'connectionLost', // ER_SERVER_SHUTDOWN
  2006: 'connectionLost', // CR_SERVER_GONE_ERROR
  2013: 'connectionLost', // CR_SERVER_LOST
};

const NOWAIT = /\bnowait\b/i;

// MariaDB's own errnos above MySQL's range, which mysql2 names after MySQL's errors of the same number.
const MARIADB_CHECK = 4025; // ER_CONSTRAINT_FAILED: `CONSTRAINT \`c\` failed for \`db\`.\`t\``
const MARIADB_NAMES: Record<number, string> = { 1927: 'ER_CONNECTION_KILLED', 1969: 'ER_STATEMENT_TIMEOUT', [MARIADB_CHECK]: 'ER_CONSTRAINT_FAILED' };

/** Reads a mysql2 error: errno first, then the failures that left the session unusable. */
export function classifyMysqlError(error: unknown, sql: string | undefined): DriverFailure | undefined {
  const fields = (error ?? {}) as MysqlErrorFields;
  const message = fields.sqlMessage ?? fields.message ?? '';
  let kind: DriverFailureKind | undefined = fields.errno === undefined ? undefined : BY_ERRNO[fields.errno];
  // On MySQL 4025 is another error altogether: only MariaDB's message makes it a CHECK failure.
  if (fields.errno === MARIADB_CHECK && /^CONSTRAINT `/.test(message)) kind = 'checkViolation';
  // MariaDB has no errno of its own for NOWAIT: the statement says which it was.
  if (kind === 'lockTimeout' && sql !== undefined && NOWAIT.test(sql)) kind = 'lockNotAvailable';
  // mysql2 marks an error after which the session cannot be used (a socket closed, a protocol break) as fatal.
  if (kind === undefined && (fields.fatal === true || isNetworkFailure(error) || driverErrorCode(error) === 'PROTOCOL_CONNECTION_LOST')) kind = 'connectionLost';
  if (kind === undefined) return undefined;
  const name = fields.errno === undefined ? undefined : MARIADB_NAMES[fields.errno];
  return { kind, ...where(kind, message), ...(name === undefined ? {} : { driverCode: name }) };
}

/** Table, constraint and column, from the server's message (mysql2 has no fields for them). */
function where(kind: DriverFailureKind, message: string): { table?: string; constraint?: string; column?: string } {
  switch (kind) {
    case 'uniqueViolation': {
      // MySQL 8 names the key `table.key`, MariaDB only `key`.
      const key = /for key '([^']+)'/.exec(message)?.[1];
      if (key === undefined) return {};
      const dot = key.lastIndexOf('.');
      return dot < 0 ? { constraint: key } : { table: key.slice(0, dot), constraint: key.slice(dot + 1) };
    }
    case 'foreignKeyViolation': {
      const match = /\(`[^`]*`\.`([^`]+)`, CONSTRAINT `([^`]+)` FOREIGN KEY \(`([^`]+)`\)/.exec(message);
      return match ? { table: match[1], constraint: match[2], column: match[3] } : {};
    }
    case 'notNullViolation':
      return { column: /^(?:Column|Field) '([^']+)'/.exec(message)?.[1] };
    case 'checkViolation': {
      // MariaDB: CONSTRAINT `c` failed for `db`.`t`; MySQL: Check constraint 'c' is violated.
      const maria = /CONSTRAINT `([^`]+)` failed for `[^`]*`\.`([^`]+)`/.exec(message);
      if (maria) return { constraint: maria[1], table: maria[2] };
      return { constraint: /Check constraint '([^']+)'/.exec(message)?.[1] };
    }
    case 'serializationFailure':
      return { table: /in table '([^']+)'/.exec(message)?.[1] };
    default:
      return {};
  }
}
