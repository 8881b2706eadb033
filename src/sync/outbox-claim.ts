import type { Connection } from '../connection/connection.js';
import type { RowLock } from '../connection/dialects/dialect.js';
import { runTransaction } from '../connection/session/local-transaction.js';
import { OUTBOX_TABLE } from './outbox-table.js';

/** One outbox row as a relay sees it. */
export interface OutboxRow {
  id: string;
  aggregate: string;
  aggregate_key: string;
  event_type: string;
  payload: string;
  attempts: number;
  created_at: unknown;
}

// Claimable: pending, due, not leased (or its lease expired), and the oldest unfinished
// event of its aggregate key — so at most one event per key is ever in flight, and a
// dead event holds back the later events of its key.
const CLAIMABLE = `o.status = 'pending' and o.next_attempt_at <= ? and (o.locked_until is null or o.locked_until < ?)
  and not exists (select 1 from ${OUTBOX_TABLE} e where e.aggregate = o.aggregate and e.aggregate_key = o.aggregate_key and e.id < o.id and e.status <> 'done')`;

const COLUMNS = 'id, aggregate, aggregate_key, event_type, payload, attempts, created_at';

const SKIP_LOCKED: RowLock = { mode: 'update', wait: 'skipLocked' };
const LEASE = 'locked_until = ?, locked_by = ?, attempts = attempts + 1';

/**
 * Leases up to `limit` claimable events to `relayId` until `leaseUntil` and returns them
 * in id order. Where the dialect can, in one UPDATE over a SKIP LOCKED pick returning the
 * rows (PostgreSQL); elsewhere the pick (with SKIP LOCKED where rows can be locked), the
 * UPDATE and a read back run in one short transaction (MariaDB; SQLite under its write
 * lock, one relay at a time).
 */
export async function claimEvents(connection: Connection, relayId: string, limit: number, now: number, leaseUntil: number): Promise<OutboxRow[]> {
  const { dialect } = connection;
  const pick = `select o.id from ${OUTBOX_TABLE} o where ${CLAIMABLE} order by o.id limit ${Math.floor(limit)}${dialect.lockClause(SKIP_LOCKED)}`;
  const single = dialect.updatePickedReturning(OUTBOX_TABLE, LEASE, pick, COLUMNS);
  if (single !== undefined) {
    const { rows } = await connection.runBuilder(connection.knex.raw(single, [leaseUntil, relayId, now, now]));
    return sortById(rows as unknown as OutboxRow[]);
  }
  return runTransaction(connection, async (trx) => {
    const ids = (await trx.query<{ id: string | number }>(pick, [now, now])).map((r) => r.id);
    if (ids.length === 0) return [];
    const marks = ids.map(() => '?').join(', ');
    await trx.query(`update ${OUTBOX_TABLE} set ${LEASE} where id in (${marks})`, [leaseUntil, relayId, ...ids]);
    return sortById(await trx.query<OutboxRow>(`select ${COLUMNS} from ${OUTBOX_TABLE} where id in (${marks})`, ids));
  });
}

function sortById(rows: OutboxRow[]): OutboxRow[] {
  for (const row of rows) row.id = String(row.id);
  return rows.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
}

/** Marks delivered events done (only those this relay still holds). */
export async function markDone(connection: Connection, relayId: string, ids: readonly string[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  const marks = ids.map(() => '?').join(', ');
  const done = connection.knex.raw(`update ${OUTBOX_TABLE} set status = 'done', processed_at = ?, locked_until = null, last_error = null where locked_by = ? and status = 'pending' and id in (${marks})`, [connection.dialect.codec.datetime(now) as string, relayId, ...ids]);
  await connection.runBuilder(done);
}

/** Records a failed delivery: back to pending at `nextAttemptAt`, or dead. */
export async function markFailed(connection: Connection, relayId: string, id: string, error: string, dead: boolean, nextAttemptAt: number): Promise<void> {
  const failed = connection.knex.raw(`update ${OUTBOX_TABLE} set status = ?, next_attempt_at = ?, locked_until = null, last_error = ? where locked_by = ? and status = 'pending' and id = ?`, [dead ? 'dead' : 'pending', nextAttemptAt, error.slice(0, 4000), relayId, id]);
  await connection.runBuilder(failed);
}

/** Gives back leased events that were not delivered (a graceful stop), undoing their attempt count. */
export async function releaseClaims(connection: Connection, relayId: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const marks = ids.map(() => '?').join(', ');
  const released = connection.knex.raw(`update ${OUTBOX_TABLE} set locked_until = null, attempts = attempts - 1 where locked_by = ? and status = 'pending' and id in (${marks})`, [relayId, ...ids]);
  await connection.runBuilder(released);
}

/** Puts dead events (all, or the given ids) back to pending with a fresh attempt count. */
export async function reviveDead(connection: Connection, ids: readonly string[] | undefined): Promise<number> {
  const filter = ids === undefined ? '' : ids.length === 0 ? ' and 1 = 0' : ` and id in (${ids.map(() => '?').join(', ')})`;
  const revive = connection.knex.raw(`update ${OUTBOX_TABLE} set status = 'pending', attempts = 0, next_attempt_at = 0, locked_until = null, locked_by = null where status = 'dead'${filter}`, [...(ids ?? [])]);
  return (await connection.runBuilder(revive)).affected;
}
