import type { Connection } from '../connection/connection.js';
import type { ColumnType } from '../connection/column-codecs.js';
import type { ConnectionManager } from '../connection/manager.js';
import { ModelDefinitionError } from '../errors.js';
import { ActiveRecord, type ModelClass } from './active-record.js';
import { Column, defineModel, PrimaryKey } from './decorators.js';

/** Declared SQL types (lower case, any dialect) → the column type whose values keep them, first match wins. */
const SQL_TYPES: readonly [RegExp, ColumnType][] = [
  [/^(tinyint\(1\)|bool)/, 'boolean'],
  [/bigint|int8|bigserial/, 'bigint'],
  [/int|serial/, 'integer'],
  [/real|double|float|numeric|decimal/, 'float'],
  [/timestamp|datetime/, 'datetime'],
  [/^date$/, 'date'],
  [/json/, 'json'],
  [/char|text|clob|uuid|enum/, 'string'],
];

/** The column type for a declared SQL type; undefined for one values pass through as the driver gives them (blobs, arrays). */
export function columnTypeOf(sqlType: string): ColumnType | undefined {
  const type = sqlType.toLowerCase().trim();
  return SQL_TYPES.find(([pattern]) => pattern.test(type))?.[1];
}

/**
 * A model for a table that has no model class: its columns, their types and its primary key
 * read from the database (`connection`), each property named as its column. It lives on
 * `connection` by default; `Model.using(name)` puts it on another with the same table.
 *
 * @throws {ModelDefinitionError} when the table does not exist or has no single-column primary key.
 */
export async function modelForTable(connection: Connection, table: string, manager: ConnectionManager): Promise<ModelClass<ActiveRecord>> {
  const live = await connection.dialect.schema.readTable(async (sql, bindings) => (await connection.execute(sql, bindings)).rows, undefined, table);
  if (live === undefined) throw new ModelDefinitionError(`no model and no table named "${table}" on connection "${connection.name}"`);
  const key = live.primaryKey ?? [];
  if (key.length !== 1) throw new ModelDefinitionError(`table "${table}" on "${connection.name}" has ${key.length === 0 ? 'no primary key' : `a primary key of ${key.length} columns`}; copying needs a single-column primary key to page by`);
  const columns = Object.fromEntries(
    live.columns.map(({ name, type }) => {
      const options = { name, type: columnTypeOf(type) };
      return [name, name === key[0] ? PrimaryKey(options) : Column(options)];
    }),
  );
  // A class of its own per table, named after it (errors and outbox events name models by class).
  const model = { [table]: class extends ActiveRecord {} }[table]!;
  return defineModel(model, { connection: connection.name, table, manager, columns }) as unknown as ModelClass<ActiveRecord>;
}
