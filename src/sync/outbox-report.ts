import type { Connection } from '../connection/connection.js';
import { decoders } from '../connection/column-codecs.js';
import { OUTBOX_TABLE } from './outbox-table.js';

/** The backlog of one model's events in one outbox. */
export interface OutboxBacklog {
  /** The model class name (the outbox's `aggregate`). */
  model: string;
  /** Waiting for a relay (due now or after a retry delay), not claimed by one. */
  pending: number;
  /** Claimed by a relay whose lease has not run out: being delivered. */
  inFlight: number;
  /** Gave up after the relay's attempts; wait for `retryDead`. */
  dead: number;
  /** When the oldest undelivered (pending or in-flight) event was written; null when there is none. */
  oldestPendingAt: Date | null;
}

/** A dead event, for an operator to read and retry. */
export interface DeadOutboxEvent {
  id: string;
  model: string;
  /** The record's primary key, as text. */
  key: string;
  type: string;
  /** Deliveries started. */
  attempts: number;
  /** The error of the last delivery (`Name: message`). */
  lastError: string | null;
  /** When the event was written (with the change it reports). */
  createdAt: Date;
}

interface CountRow {
  aggregate: string;
  status: string;
  leased: number | string;
  events: number | string;
  oldest: unknown;
}

/**
 * Counts the undelivered and dead events of each model in a connection's outbox at time
 * `now` (epoch ms). Delivered events are not read: the (status, id) index leaves them out.
 */
export async function outboxBacklog(connection: Connection, now: number = Date.now()): Promise<OutboxBacklog[]> {
  // Grouped outside a derived table: PostgreSQL does not take `case ... ?` in GROUP BY as the selected expression.
  const sql = `select aggregate, status, leased, count(*) as events, min(created_at) as oldest from (
      select aggregate, status, case when status = 'pending' and locked_until >= ? then 1 else 0 end as leased, created_at
      from ${OUTBOX_TABLE} where status in ('pending', 'dead')
    ) o group by aggregate, status, leased order by aggregate`;
  const { rows } = await connection.runBuilder(connection.knex.raw(sql, [now]));
  const byModel = new Map<string, OutboxBacklog>();
  for (const row of rows as unknown as CountRow[]) {
    let backlog = byModel.get(row.aggregate);
    if (!backlog) byModel.set(row.aggregate, (backlog = { model: row.aggregate, pending: 0, inFlight: 0, dead: 0, oldestPendingAt: null }));
    const events = Number(row.events);
    if (row.status === 'dead') backlog.dead += events;
    else {
      if (Number(row.leased) === 1) backlog.inFlight += events;
      else backlog.pending += events;
      const oldest = decoders.datetime(row.oldest) as Date;
      if (backlog.oldestPendingAt === null || oldest < backlog.oldestPendingAt) backlog.oldestPendingAt = oldest;
    }
  }
  return [...byModel.values()];
}

/** The dead events of a connection's outbox (of one model, when named), oldest first, at most `limit`. */
export async function listDeadEvents(connection: Connection, filter: { model?: string; limit: number }): Promise<DeadOutboxEvent[]> {
  let query = connection.knex(OUTBOX_TABLE).select('id', 'aggregate', 'aggregate_key', 'event_type', 'attempts', 'last_error', 'created_at').where('status', 'dead');
  if (filter.model !== undefined) query = query.where('aggregate', filter.model);
  const { rows } = await connection.runBuilder(query.orderBy('id').limit(filter.limit));
  return rows.map((row) => ({
    id: String(row.id),
    model: String(row.aggregate),
    key: String(row.aggregate_key),
    type: String(row.event_type),
    attempts: Number(row.attempts),
    lastError: row.last_error === null || row.last_error === undefined ? null : String(row.last_error),
    createdAt: decoders.datetime(row.created_at) as Date,
  }));
}
