import type { DriverName } from '../config.js';
import type { DialectAdapter } from './dialect.js';
import { mysqlDialect } from './mysql/adapter.js';
import { postgresDialect } from './postgres/adapter.js';
import { sqliteDialect } from './sqlite/adapter.js';

/** One adapter per canonical driver name; a new driver does not compile until it is mapped here. */
export const dialects: { readonly [D in DriverName]: DialectAdapter } = {
  sqlite: sqliteDialect,
  postgresql: postgresDialect,
  mysql: mysqlDialect,
};

/** One fresh `make()` per registered driver: per-dialect state (compiled statements, say) that a new adapter needs no edit for. */
export function perDriver<T>(make: () => T): { [D in DriverName]: T } {
  return Object.fromEntries(Object.keys(dialects).map((driver) => [driver, make()])) as { [D in DriverName]: T };
}


export type { DialectAdapter, DriverConnection, ExecResult, ExecOptions, ValueCodec, ConnectionLender } from './dialect.js';
