import { ensureBookkeepingTable } from '../connection/bookkeeping-table.js';
import { ConnectionManager } from '../connection/manager.js';

/** The outbox table's name. */
export const OUTBOX_TABLE = 'polyrecord_outbox';

/**
 * Creates `polyrecord_outbox` on a connection if it does not exist (idempotent, safe to
 * race from several processes). Columns: id, aggregate (model class name), aggregate_key
 * (primary key as text), event_type (created/updated/destroyed), payload (JSON text),
 * created_at, attempts, next_attempt_at and locked_until (epoch milliseconds), locked_by,
 * status (pending/done/dead), last_error, processed_at.
 *
 * @example
 * ```ts
 * await ensureOutboxTable('primary')
 * ```
 */
export async function ensureOutboxTable(connection: string, manager: ConnectionManager = ConnectionManager.default): Promise<void> {
  await ensureBookkeepingTable(manager.get(connection), OUTBOX_TABLE, (t) => {
    t.bigIncrements('id');
    t.string('aggregate', 128).notNullable();
    t.string('aggregate_key', 191).notNullable();
    t.string('event_type', 16).notNullable();
    t.text('payload').notNullable();
    t.datetime('created_at', { precision: 3 }).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').notNullable().defaultTo(0);
    t.bigInteger('locked_until').nullable();
    t.string('locked_by', 64).nullable();
    t.string('status', 8).notNullable().defaultTo('pending');
    t.text('last_error').nullable();
    t.datetime('processed_at', { precision: 3 }).nullable();
    t.index(['status', 'id'], 'polyrecord_outbox_due');
    t.index(['aggregate', 'aggregate_key', 'id'], 'polyrecord_outbox_key_order');
  });
}
