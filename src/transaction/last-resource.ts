import type { Connection } from '../connection/connection.js';
import type { DriverConnection } from '../connection/dialects/dialect.js';
import type { TxState } from './coordinator-log.js';

/** The table, inside a last-resource (SQLite) database, whose row for a transaction is its decision. */
export const DECISION_TABLE = 'polyrecord_tx_decisions';

/** Creates the decision table in the last resource's database (idempotent). */
export async function ensureDecisionTable(connection: Connection): Promise<void> {
  await connection.execute(`create table if not exists ${DECISION_TABLE} (id varchar(64) primary key, state varchar(16) not null, created_at varchar(32) not null)`, []);
}

/**
 * Writes the commit decision inside the last resource's own open transaction; its
 * COMMIT, which follows, is the decision. Fails (duplicate key) if recovery recorded
 * an abort first.
 */
export async function writeCommitDecision(connection: Connection, driverConnection: DriverConnection, transactionId: string): Promise<void> {
  await connection.executeOn(driverConnection, `insert into ${DECISION_TABLE} (id, state, created_at) values (?, 'committed', ?)`, [transactionId, new Date().toISOString()]);
}

/** Recovery's referee in the last resource: records an abort unless a decision exists; resolves with the decision that stands. */
export async function refereeDecision(connection: Connection, transactionId: string): Promise<TxState> {
  await ensureDecisionTable(connection);
  await connection.execute(`insert into ${DECISION_TABLE} (id, state, created_at) values (?, 'aborted', ?) on conflict (id) do nothing`, [transactionId, new Date().toISOString()]);
  const { rows } = await connection.execute(`select state from ${DECISION_TABLE} where id = ?`, [transactionId]);
  return rows[0]!.state as TxState;
}
