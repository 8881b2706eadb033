import type { Connection } from '../connection/connection.js';
import { INBOX_TABLE } from './inbox-table.js';

/** A dead event as `deadEvents()` and `inboxDeadEvents()` list it. */
export interface DeadInboxEvent {
  /** The consumer (its name in the inbox) that gave up on it. */
  consumer: string;
  id: string;
  model: string;
  key: string;
  attempts: number;
  lastError: string | null;
  deadAt: Date;
}

/** Dead rows of a connection's inbox (of one consumer, when named), oldest first, at most `limit`. */
export async function listDeadInboxEvents(connection: Connection, filter: { consumer?: string; limit?: number }): Promise<DeadInboxEvent[]> {
  let query = connection.knex(INBOX_TABLE).where('status', 'dead').select('consumer', 'event_id', 'model', 'event_key', 'attempts', 'last_error', 'processed_at');
  if (filter.consumer !== undefined) query = query.where('consumer', filter.consumer);
  query = query.orderBy('processed_at').orderBy('event_id');
  if (filter.limit !== undefined) query = query.limit(filter.limit);
  const { rows } = await connection.runBuilder(query);
  return rows.map((r) => ({
    consumer: String(r.consumer),
    id: String(r.event_id),
    model: String(r.model),
    key: String(r.event_key),
    attempts: Number(r.attempts),
    lastError: r.last_error === null || r.last_error === undefined ? null : String(r.last_error),
    deadAt: new Date(Number(r.processed_at)),
  }));
}

/**
 * Hands dead events back to their consumer: `dead` rows (of `consumer`, when named; with these
 * event ids, when given) become `retry`, and a running `InboxConsumer` of that name applies them
 * at its next retry poll. Resolves with how many rows changed.
 */
export async function requestInboxRetry(connection: Connection, filter: { consumer?: string; ids?: readonly string[] }): Promise<number> {
  let query = connection.knex(INBOX_TABLE).where('status', 'dead').whereNotNull('envelope');
  if (filter.consumer !== undefined) query = query.where('consumer', filter.consumer);
  if (filter.ids !== undefined) query = query.whereIn('event_id', [...filter.ids]);
  return (await connection.runBuilder(query.update({ status: 'retry' }))).affected;
}
