import { ensureBookkeepingTable, tableExists } from '../connection/bookkeeping-table.js';
import type { Connection } from '../connection/connection.js';
import type { DriverConnection } from '../connection/dialects/dialect.js';
import type { TxState } from './coordinator-log.js';

/** The table, inside a last-resource database, whose row for a transaction is its decision. */
export const DECISION_TABLE = 'polyrecord_tx_decisions';

// Connections whose decision table is known to exist: checked once, not per transaction.
const ensured = new WeakSet<Connection>();

/** Creates the decision table in the last resource's database (idempotent). */
async function createDecisionTable(connection: Connection): Promise<void> {
  await ensureBookkeepingTable(connection, DECISION_TABLE, (t) => {
    t.string('id', 64).primary();
    t.string('state', 16).notNullable();
    t.string('created_at', 32).notNullable();
  });
  ensured.add(connection);
}

/** {@link createDecisionTable}, once per connection: a branch opening on the last resource checks once, not per transaction. */
export async function ensureDecisionTable(connection: Connection): Promise<void> {
  if (!ensured.has(connection)) await createDecisionTable(connection);
}

/** The INSERT of a decision row (ignoring a standing row when asked). */
function insertDecision(connection: Connection, transactionId: string, state: TxState, ignoreStanding: boolean) {
  const insert = connection.knex(DECISION_TABLE).insert({ id: transactionId, state, created_at: new Date().toISOString() });
  return ignoreStanding ? insert.onConflict('id').ignore() : insert;
}

/**
 * Writes the commit decision inside the last resource's own open transaction; its
 * COMMIT, which follows, is the decision. Fails (duplicate key) if recovery recorded
 * an abort first.
 */
export async function writeCommitDecision(connection: Connection, driverConnection: DriverConnection, transactionId: string): Promise<void> {
  await connection.runBuilder(insertDecision(connection, transactionId, 'committed', false), undefined, driverConnection);
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
  await connection.runBuilder(insertDecision(connection, transactionId, 'aborted', true));
  const { rows } = await connection.runBuilder(connection.knex(DECISION_TABLE).select('state').where({ id: transactionId }));
  return rows[0]!.state as TxState;
}

/**
 * The decision a last resource holds for a transaction, without recording one (for
 * operators looking at in-doubt branches); undefined when there is none yet, or no
 * decision table.
 */
export async function lookupDecision(connection: Connection, transactionId: string): Promise<TxState | undefined> {
  if (!(await tableExists(connection, DECISION_TABLE))) return undefined;
  const found = await connection.runBuilder(connection.knex(DECISION_TABLE).select('state').where({ id: transactionId }));
  return found.rows[0]?.state as TxState | undefined;
}
