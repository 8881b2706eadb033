import type { Transaction } from '../connection/session/local-transaction.js';
import { InboxEventFailed } from './inbox-appliers.js';
import { INBOX_TABLE } from './inbox-table.js';

/** What an inbox transaction needs of an event. */
export interface InboxRowEvent {
  readonly id: string;
  readonly model: string;
  readonly key: string;
  readonly attempts: number;
}

/** Most rows one insert statement carries (6 parameters each; SQLite allows 32,766 in one statement). */
const ROWS_PER_INSERT = 500;

/**
 * Applies several events in the transaction `trx`: finds those already in the inbox with one
 * select, inserts the inbox rows of the others, then applies those (`apply`, in order).
 * Resolves with each event's outcome; a second copy of an event within the batch is a
 * duplicate too. When `apply` fails with an {@link InboxEventFailed}, rejects with one
 * whose `position` is that event's place in `events`; any other failure as it is (the
 * caller rolls back either way).
 */
export async function applyInboxBatch<E extends InboxRowEvent>(trx: Transaction, consumer: string, events: readonly E[], apply: (fresh: readonly E[]) => Promise<void>): Promise<Array<'applied' | 'duplicate'>> {
  const ids = [...new Set(events.map((e) => e.id))];
  const known = await trx.query<{ event_id: unknown }>(`select event_id from ${INBOX_TABLE} where consumer = ? and event_id in (${ids.map(() => '?').join(', ')})`, [consumer, ...ids]);
  const seen = new Set(known.map((row) => String(row.event_id)));
  const fresh: Array<{ event: E; index: number }> = [];
  const outcomes = events.map((event, index) => {
    if (seen.has(event.id)) return 'duplicate' as const;
    seen.add(event.id);
    fresh.push({ event, index });
    return 'applied' as const;
  });
  const now = Date.now();
  for (let from = 0; from < fresh.length; from += ROWS_PER_INSERT) {
    const rows = fresh.slice(from, from + ROWS_PER_INSERT);
    // A concurrent delivery of one of these events committing first makes this insert fail on the
    // primary key: the whole batch is then rolled back and handled one event at a time.
    await trx.query(`insert into ${INBOX_TABLE} (consumer, event_id, model, event_key, status, attempts, processed_at) values ${rows.map(() => `(?, ?, ?, ?, 'done', ?, ?)`).join(', ')}`, rows.flatMap(({ event }) => [consumer, event.id, event.model, event.key, event.attempts, now]));
  }
  try {
    await apply(fresh.map(({ event }) => event));
  } catch (error) {
    if (error instanceof InboxEventFailed) throw new InboxEventFailed(fresh[error.position]!.index, error.error);
    throw error;
  }
  return outcomes;
}
