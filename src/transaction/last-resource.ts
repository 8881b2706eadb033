import type { Connection } from '../connection/connection.js';
import type { DriverConnection } from '../connection/dialects/dialect.js';
import type { TxState } from './coordinator-log.js';

/** The table, inside a last-resource database, whose row for a transaction is its decision. */
export const DECISION_TABLE = 'polyrecord_tx_decisions';

// Connections whose decision table is known to exist: checked once, not per transaction.
const ensured = new WeakSet<Connection>();

/** Creates the decision table in the last resource's database (idempotent). */
async function createDecisionTable(connection: Connection): Promise<void> {
  await connection.execute(`create table if not exists ${DECISION_TABLE} (id varchar(64) primary key, state varchar(16) not null, created_at varchar(32) not null)`, []);
  ensured.add(connection);
}

/** {@link createDecisionTable}, once per connection: a branch opening on the last resource checks once, not per transaction. */
export async function ensureDecisionTable(connection: Connection): Promise<void> {
  if (!ensured.has(connection)) await createDecisionTable(connection);
}

/** The INSERT of a decision row, in the connection's own SQL (placeholders, and ignoring a standing row when asked). */
function insertDecision(connection: Connection, transactionId: string, state: TxState, ignoreStanding: boolean): { sql: string; bindings: readonly unknown[] } {
  const insert = connection.knex(DECISION_TABLE).insert({ id: transactionId, state, created_at: new Date().toISOString() });
  const { sql, bindings } = (ignoreStanding ? insert.onConflict('id').ignore() : insert).toSQL().toNative();
  return { sql, bindings };
}

/**
 * Writes the commit decision inside the last resource's own open transaction; its
 * COMMIT, which follows, is the decision. Fails (duplicate key) if recovery recorded
 * an abort first.
 */
export async function writeCommitDecision(connection: Connection, driverConnection: DriverConnection, transactionId: string): Promise<void> {
  const { sql, bindings } = insertDecision(connection, transactionId, 'committed', false);
  await connection.executeOn(driverConnection, sql, bindings);
}

/**
 * The referee in the last resource: records an abort unless a decision exists, and
 * resolves with the decision that stands. An insert that meets the uncommitted decision
 * row of a transaction still committing waits for that transaction to end, so the answer
 * is final. Used by recovery, and by the coordinator when the last resource's COMMIT
 * failed without saying whether it happened (a lost reply).
 */
export async function refereeDecision(connection: Connection, transactionId: string): Promise<TxState> {
  // Not the cached check: the referee must work even if the table went away since.
  await createDecisionTable(connection);
  const { sql, bindings } = insertDecision(connection, transactionId, 'aborted', true);
  await connection.execute(sql, bindings);
  const select = connection.knex(DECISION_TABLE).select('state').where({ id: transactionId }).toSQL().toNative();
  const { rows } = await connection.execute(select.sql, select.bindings);
  return rows[0]!.state as TxState;
}
