import type { BenchTarget } from '../targets.js';
import type { Contender } from './contender.js';
import { openRawMysql } from './raw-mysql.js';
import { openRawPostgres } from './raw-postgres.js';
import { openRawSqlite } from './raw-sqlite.js';

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
