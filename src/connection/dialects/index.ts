import type { DriverName } from '../config.js';
import type { DialectAdapter } from './dialect.js';
import { mysqlDialect } from './mysql.js';
import { postgresDialect } from './postgres.js';
import { sqliteDialect } from './sqlite.js';

/** One adapter per canonical driver name; a new driver does not compile until it is mapped here. */
export const dialects: { readonly [D in DriverName]: DialectAdapter } = {
  sqlite: sqliteDialect,
  postgresql: postgresDialect,
  mysql: mysqlDialect,
};


export type { DialectAdapter, DriverConnection, ExecResult, ExecOptions, ValueCodec, ConnectionLender } from './dialect.js';
