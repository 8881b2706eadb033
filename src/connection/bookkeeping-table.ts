import type { Knex } from 'knex';
import { ConfigError } from '../errors.js';
import type { Connection } from './connection.js';

/**
 * Creates a table polyrecord keeps its own records in (outbox, checkpoints, logs) unless it
 * exists. Several processes may race to create it: a CREATE that fails while the table now
 * exists lost to another creator, which is no failure. Every statement goes through
 * `connection.execute` (typed errors, password filter, query events, breaker, limits).
 * Call it outside any transaction: MySQL commits an open transaction on DDL.
 */
export async function ensureBookkeepingTable(connection: Connection, table: string, define: (t: Knex.CreateTableBuilder) => void): Promise<void> {
  if (await tableExists(connection, table)) return;
  try {
    // DDL carries its values as literals (knex writes defaults into the text), so there is nothing to rewrite into native placeholders.
    for (const { sql, bindings } of connection.knex.schema.createTable(table, define).toSQL()) await connection.execute(sql, bindings);
  } catch (error) {
    if (!(await tableExists(connection, table))) throw error;
  }
}

/** Whether `table` exists in the connection's database (its current schema on PostgreSQL). */
export async function tableExists(connection: Connection, table: string): Promise<boolean> {
  return (await connection.execute(connection.dialect.tableExistsSql, [table])).rows.length > 0;
}

/**
 * `table` when it is a plain SQL identifier (letters, digits, `_`; at most 63 characters),
 * safe to name a bookkeeping table a user chose; else a ConfigError on field `table`
 * naming `what` (e.g. "saga log table").
 */
export function plainTableName(table: unknown, what: string): string {
  if (typeof table !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) {
    throw new ConfigError('table', `${what} must be a plain SQL identifier (letters, digits, _), got ${JSON.stringify(table)}`);
  }
  return table;
}
