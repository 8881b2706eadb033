import type { ColumnType } from '../column-codecs.js';

/** A column as the database has it. */
export interface LiveColumn {
  readonly name: string;
  /** The database's own type text: `character varying(255)`, `tinyint(1)`, `datetime`, … */
  readonly type: string;
  readonly nullable: boolean;
}

/** A table as the database has it: its columns, and the column sets an upsert can name as its conflict target. */
export interface LiveTable {
  readonly columns: readonly LiveColumn[];
  /**
   * Column lists of the primary key, unique constraints and unique indexes that make a
   * conflict target (`ON CONFLICT (a, b)`, `ON DUPLICATE KEY`): partial, expression,
   * deferrable and prefix indexes are left out, because an upsert cannot rely on them.
   */
  readonly uniqueKeys: readonly (readonly string[])[];
  /** The primary key's columns in key order (also among `uniqueKeys`), or undefined when the table has none. */
  readonly primaryKey: readonly string[] | undefined;
}

/**
 * How a declared column type fits a live column: `ok`; a `warning` (it works, with a caveat
 * the reason gives); or a `mismatch` (values are refused, lost or compared wrongly).
 */
export type TypeFit = { readonly fit: 'ok' } | { readonly fit: 'warning' | 'mismatch'; readonly reason: string };

/** Runs one statement in the dialect's placeholder syntax and returns its rows. */
export type SqlRunner = (sql: string, bindings: readonly unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * What `schema:check` and `make:migration --from-models` need from a dialect: reading a live
 * table, judging whether a declared type fits a live column, and the knex schema builder
 * method that creates a column of a declared type.
 */
export interface SchemaSupport {
  /** The table's columns and unique keys, or undefined when it does not exist. `schema` undefined: the connection's current one. */
  readTable(run: SqlRunner, schema: string | undefined, table: string): Promise<LiveTable | undefined>;
  /** Whether a column of this live type holds the declared type's values faithfully (see docs/migrations.md for the table). */
  fit(declared: ColumnType, column: LiveColumn): TypeFit;
  /** The knex `TableBuilder` call that creates a column of the declared type, as source text, e.g. `t.jsonb('settings')`. */
  columnBuilder(declared: ColumnType, column: string): string;
}

/** Shorthands for the dialects' fit tables. */
export const OK: TypeFit = { fit: 'ok' };
export const warning = (reason: string): TypeFit => ({ fit: 'warning', reason });
export const mismatch = (reason: string): TypeFit => ({ fit: 'mismatch', reason });

/**
 * The knex builder methods every dialect shares: `double` rather than `float` (PostgreSQL's
 * `real` keeps 6 digits, a JS number 15-17), and date-times with microseconds (MySQL's plain
 * DATETIME drops the fraction of a second).
 */
export function standardColumnBuilder(declared: ColumnType, column: string): string {
  const name = sourceText(column);
  switch (declared) {
    case 'string':
      return `t.string(${name})`;
    case 'integer':
      return `t.integer(${name})`;
    case 'bigint':
      return `t.bigInteger(${name})`;
    case 'float':
      return `t.double(${name})`;
    case 'boolean':
      return `t.boolean(${name})`;
    case 'date':
      return `t.date(${name})`;
    case 'datetime':
      return `t.datetime(${name}, { precision: 6 })`;
    case 'json':
      return `t.json(${name})`;
  }
}

/** Groups (key name, column) rows, ordered by key then position, into column lists. */
export function groupKeys(rows: readonly Record<string, unknown>[], key = 'key', column = 'column'): string[][] {
  const keys = new Map<string, string[]>();
  for (const row of rows) {
    const name = String(row[key]);
    keys.set(name, [...(keys.get(name) ?? []), String(row[column])]);
  }
  return [...keys.values()];
}

/**
 * Unique keys from (key name, column) rows as {@link groupKeys} reads them, and the primary key
 * among them: the rows whose `primary` is true, or the key named `primaryName` (MySQL's `PRIMARY`).
 */
export function keysOf(rows: readonly Record<string, unknown>[], primaryName?: string): Pick<LiveTable, 'uniqueKeys' | 'primaryKey'> {
  const primary = rows.filter((row) => (primaryName === undefined ? row.primary === true : row.key === primaryName)).map((row) => String(row.column));
  return { uniqueKeys: groupKeys(rows), primaryKey: primary.length > 0 ? primary : undefined };
}

/** A string as a single-quoted JavaScript literal, for the source of a generated migration. */
export function sourceText(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}
