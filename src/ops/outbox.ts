import { tableExists } from '../connection/bookkeeping-table.js';
import type { ConnectionManager } from '../connection/manager.js';
import { reviveDead } from '../sync/outbox-claim.js';
import { listDeadEvents, outboxBacklog, type DeadOutboxEvent, type OutboxBacklog } from '../sync/outbox-report.js';
import { OUTBOX_TABLE } from '../sync/outbox-table.js';
import { nameList, OperationInputError } from './ops-errors.js';
import { messageOf, opsScope, type OpsOptions } from './ops-options.js';

/** One model's backlog in one outbox, with the age of its oldest undelivered event. */
export interface OutboxModelStats extends OutboxBacklog {
  /** How long the oldest undelivered event has waited, in ms; null when there is none. */
  oldestPendingAgeMs: number | null;
}

/** The outbox of one connection. */
export interface OutboxStats {
  connection: string;
  /** One entry per model with undelivered or dead events (none when the outbox is drained). */
  models: OutboxModelStats[];
  /** Why this connection could not be read; the others are still reported. */
  error?: string;
}

/** A dead event and the connection whose outbox holds it. */
export interface DeadEvent extends DeadOutboxEvent {
  connection: string;
}

/**
 * The backlog of every connection that has an outbox table (`polyrecord_outbox`): per
 * model, how many events are pending, in flight (claimed by a relay under a live lease)
 * and dead, and the age of the oldest undelivered one. A connection that cannot be read
 * is listed with its `error`.
 *
 * @example
 * ```ts
 * for (const { connection, models } of await outboxStats())
 *   for (const m of models) console.log(connection, m.model, m.pending, m.inFlight, m.dead, m.oldestPendingAgeMs)
 * ```
 */
export async function outboxStats(options: OpsOptions = {}): Promise<OutboxStats[]> {
  const { manager } = opsScope(options);
  const stats = await Promise.all(
    manager.names().map(async (name): Promise<OutboxStats | undefined> => {
      try {
        const connection = manager.get(name);
        if (!(await tableExists(connection, OUTBOX_TABLE))) return undefined;
        const now = Date.now();
        const models = (await outboxBacklog(connection, now)).map((backlog) => ({ ...backlog, oldestPendingAgeMs: backlog.oldestPendingAt && Math.max(0, now - backlog.oldestPendingAt.getTime()) }));
        return { connection: name, models };
      } catch (error) {
        return { connection: name, models: [], error: messageOf(error) };
      }
    }),
  );
  return stats.filter((entry) => entry !== undefined);
}

/**
 * Dead events (a relay gave up on them after its attempts), oldest first: of every
 * connection with an outbox, or only `connection`; of every model, or only `model`;
 * at most `limit` (default 100).
 *
 * @example
 * ```ts
 * const dead = await deadEvents({ model: 'Order', limit: 20 })
 * console.log(dead.map((e) => `${e.connection} #${e.id} ${e.model} ${e.key}: ${e.lastError}`))
 * ```
 */
export async function deadEvents(options: OpsOptions & { model?: string; limit?: number; connection?: string } = {}): Promise<DeadEvent[]> {
  const { manager } = opsScope(options);
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1) throw new OperationInputError('limit', `limit must be a whole number of 1 or more, got ${String(limit)}`);
  const events: DeadEvent[] = [];
  for (const name of options.connection === undefined ? await outboxConnections(manager) : [options.connection]) {
    for (const event of await listDeadEvents(manager.get(name), { model: options.model, limit })) events.push({ connection: name, ...event });
  }
  return events.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).slice(0, limit);
}

/**
 * Puts dead events back to pending with a fresh attempt count, so the relays deliver them
 * again: the events with these ids, or every dead event (`'all'`). Ids are per outbox:
 * name the `connection` when several connections have one. Resolves with how many events
 * were revived (an id that is not a dead event counts for nothing).
 *
 * @example
 * ```ts
 * await retryDead(['41', '42'], { connection: 'primary' })
 * await retryDead('all')
 * ```
 * @throws {OperationInputError} for an id that is not a whole number, or ids without a connection when several have an outbox.
 */
export async function retryDead(ids: readonly (string | number)[] | 'all', options: OpsOptions & { connection?: string } = {}): Promise<number> {
  const { manager } = opsScope(options);
  if (ids !== 'all') {
    const bad = ids.find((id) => !/^[1-9][0-9]*$/.test(String(id)));
    if (bad !== undefined) throw new OperationInputError('ids', `event id ${JSON.stringify(bad)} is not a whole number`);
  }
  let targets: string[];
  if (options.connection !== undefined) {
    manager.get(options.connection);
    targets = [options.connection];
  } else {
    targets = await outboxConnections(manager);
    if (ids !== 'all' && targets.length > 1) throw new OperationInputError('connection', `event ids are per connection and ${nameList(targets)} all have an outbox: name the connection`, targets);
  }
  let revived = 0;
  for (const name of targets) revived += await reviveDead(manager.get(name), ids === 'all' ? undefined : ids.map(String));
  return revived;
}

/** The connections (not aliases) whose database has an outbox table. */
async function outboxConnections(manager: ConnectionManager): Promise<string[]> {
  const names = manager.names();
  const present = await Promise.all(names.map((name) => tableExists(manager.get(name), OUTBOX_TABLE)));
  return names.filter((_, index) => present[index]);
}
