import type { Connection } from '../connection/connection.js';
import type { ColumnMeta, ModelMeta } from './metadata.js';

/** Column name → fractional-second digits, for the date-time columns that keep fewer than milliseconds. */
export type CoarseColumns = ReadonlyMap<string, number>;

const NONE: CoarseColumns = new Map();
const known = new WeakMap<Connection, Map<string, CoarseColumns | Promise<CoarseColumns>>>();

/**
 * The date-time columns of the model's table on this connection that store fewer than
 * three fractional-second digits (MySQL's plain `DATETIME` keeps none). Read from the
 * catalogue once per connection and table; a table that does not exist yet is asked
 * again next time.
 */
export function coarseColumns(meta: ModelMeta, connection: Connection): CoarseColumns | Promise<CoarseColumns> {
  const sql = connection.dialect.columnDigitsSql;
  if (sql === undefined || !meta.hasDatetime) return NONE;
  let tables = known.get(connection);
  if (!tables) known.set(connection, (tables = new Map()));
  const cached = tables.get(meta.tableName);
  if (cached) return cached;
  const dot = meta.tableName.lastIndexOf('.');
  const bindings = dot < 0 ? [null, meta.tableName] : [meta.tableName.slice(0, dot), meta.tableName.slice(dot + 1)];
  const lookup = connection.execute(sql, bindings).then(
    ({ rows }) => {
      const coarse = new Map<string, number>();
      for (const row of rows) {
        const digits = row.digits === null || row.digits === undefined ? undefined : Number(row.digits);
        if (digits !== undefined && digits < 3) coarse.set(String(row.name), digits);
      }
      if (rows.length > 0) tables.set(meta.tableName, coarse.size > 0 ? coarse : NONE);
      else tables.delete(meta.tableName);
      return coarse;
    },
    (error: unknown) => {
      tables.delete(meta.tableName);
      throw error;
    },
  );
  tables.set(meta.tableName, lookup);
  return lookup;
}

/**
 * A Date cut to what its column stores: polyrecord drops the extra digits itself before
 * writing (servers disagree on rounding them: PostgreSQL and MySQL round, MariaDB
 * truncates), so the record holds what every server gives back.
 */
export function fitDate(column: ColumnMeta, value: unknown, coarse: CoarseColumns): unknown {
  if (!(value instanceof Date) || column.type !== 'datetime') return value;
  const digits = coarse.get(column.column);
  if (digits === undefined) return value;
  const unit = 10 ** (3 - digits);
  const time = value.getTime();
  const fitted = time - (((time % unit) + unit) % unit);
  return fitted === time ? value : new Date(fitted);
}
