import type { Dialect } from '../options.js';
import type { BenchTarget } from '../targets.js';
import type { Contender } from './contender.js';
import { openRawMysql } from './raw-mysql.js';
import { openRawPostgres } from './raw-postgres.js';
import { openRawSqlite } from './raw-sqlite.js';

/**
 * Whether the `raw` contender already runs prepared statements: better-sqlite3 statements
 * prepared once, mysql2's `execute` (binary protocol, prepared and cached per connection).
 * Only PostgreSQL's `raw` (`pool.query(text, values)`) is unprepared, so only there does a
 * separate `prepared` contender run; elsewhere `raw` is the prepared baseline.
 */
export const RAW_PREPARES: Record<Dialect, boolean> = { sqlite: true, postgresql: false, mysql: true };

/** The raw driver of the target's dialect: the baseline every ratio is measured against. */
export function openRaw(target: BenchTarget): Contender {
  switch (target.dialect) {
    case 'sqlite':
      return openRawSqlite(target);
    case 'postgresql':
      return openRawPostgres(target);
    case 'mysql':
      return openRawMysql(target);
  }
}

/** The raw driver with named prepared statements, where `raw` is not that already (PostgreSQL); undefined elsewhere. */
export function openPrepared(target: BenchTarget): Contender | undefined {
  return RAW_PREPARES[target.dialect] ? undefined : openRawPostgres(target, 'prepared');
}
