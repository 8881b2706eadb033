import type { Connection } from '../connection/connection.js';
import type { LiveTable } from '../connection/dialects/schema-support.js';

/** A model's table name split into its schema (undefined: the connection's current one) and the table. */
export function splitTableName(table: string): { schema: string | undefined; table: string } {
  const dot = table.lastIndexOf('.');
  return dot < 0 ? { schema: undefined, table } : { schema: table.slice(0, dot), table: table.slice(dot + 1) };
}

/** Reads a table's columns and unique keys through the connection's dialect, or undefined when it does not exist. */
export function readLiveTable(connection: Connection, table: string): Promise<LiveTable | undefined> {
  const name = splitTableName(table);
  return connection.dialect.schema.readTable(async (sql, bindings) => (await connection.execute(sql, bindings)).rows, name.schema, name.table);
}
