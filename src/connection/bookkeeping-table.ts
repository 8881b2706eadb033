import type { Knex } from 'knex';
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

/** Whether `table` exists on the connection (in its current database or schema). */
export async function tableExists(connection: Connection, table: string): Promise<boolean> {
  return (await connection.execute(connection.dialect.tableExistsSql, [table])).rows.length > 0;
}
