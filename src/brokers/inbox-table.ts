import { ensureBookkeepingTable } from '../connection/bookkeeping-table.js';
import { ConnectionManager } from '../connection/manager.js';

/** The inbox table's name. */
export const INBOX_TABLE = 'polyrecord_inbox';

/**
 * Creates `polyrecord_inbox` on a connection if it does not exist (idempotent, safe to race).
 * One row per event an {@link InboxConsumer} applied (`done`) or gave up on (`dead`), keyed by
 * (consumer, event_id): consumer name, event id (the envelope id), model, event_key, status,
 * attempts, last_error, envelope (the message body, kept for dead events), processed_at
 * (epoch milliseconds).
 *
 * @example
 * ```ts
 * await ensureInboxTable('analytics')
 * ```
 */
export async function ensureInboxTable(connection: string, manager: ConnectionManager = ConnectionManager.default): Promise<void> {
  await ensureBookkeepingTable(manager.get(connection), INBOX_TABLE, (t) => {
    t.string('consumer', 128).notNullable();
    t.string('event_id', 191).notNullable();
    t.string('model', 128).notNullable();
    t.string('event_key', 191).notNullable();
    t.string('status', 8).notNullable();
    t.integer('attempts').notNullable();
    t.text('last_error').nullable();
    t.text('envelope').nullable();
    t.bigInteger('processed_at').notNullable();
    t.primary(['consumer', 'event_id']);
    t.index(['consumer', 'status', 'processed_at'], 'polyrecord_inbox_age');
  });
}
