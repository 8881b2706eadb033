import { tableExists } from '../connection/bookkeeping-table.js';
import type { ConnectionManager } from '../connection/manager.js';
import { listDeadInboxEvents, requestInboxRetry, type DeadInboxEvent } from '../brokers/inbox-dead.js';
import { INBOX_TABLE } from '../brokers/inbox-table.js';
import { nameList, OperationInputError } from './ops-errors.js';
import { opsScope, type OpsOptions } from './ops-options.js';

/** A dead inbox event and the connection whose inbox holds it. */
export interface DeadInboxEventAt extends DeadInboxEvent {
  connection: string;
}

/** Which inbox rows an inbox operation looks at. */
export interface InboxScope extends OpsOptions {
  /** Only this consumer's events (its name in the inbox: `InboxConsumer`'s `name`, by default the durable or queue). */
  consumer?: string;
  /** Only the inbox of this connection. */
  connection?: string;
}

/**
 * Dead inbox events (an `InboxConsumer` gave up on them after its attempts), oldest first: of
 * every connection with an inbox table (`polyrecord_inbox`), or only `connection`; of every
 * consumer, or only `consumer`; at most `limit` (default 100).
 *
 * @example
 * ```ts
 * const dead = await inboxDeadEvents({ consumer: 'analytics' })
 * console.log(dead.map((e) => `${e.connection} ${e.consumer} ${e.id} ${e.model} ${e.key}: ${e.lastError}`))
 * ```
 */
export async function inboxDeadEvents(options: InboxScope & { limit?: number } = {}): Promise<DeadInboxEventAt[]> {
  const { manager } = opsScope(options);
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1) throw new OperationInputError('limit', `limit must be a whole number of 1 or more, got ${String(limit)}`);
  const events: DeadInboxEventAt[] = [];
  for (const name of await inboxConnections(manager, options.connection)) {
    for (const event of await listDeadInboxEvents(manager.get(name), { consumer: options.consumer, limit })) events.push({ connection: name, ...event });
  }
  return events.sort((a, b) => a.deadAt.getTime() - b.deadAt.getTime()).slice(0, limit);
}

/**
 * Hands dead inbox events back to their consumer: the events with these ids, or every dead
 * event (`'all'`), of `consumer` and `connection` when named. Their rows become `retry`, and a
 * running `InboxConsumer` of that name applies them from their kept envelopes within its
 * `retryPollMs` (its handlers live in its process). Resolves with how many were handed back
 * (an id that is not a dead event counts for nothing).
 *
 * @example
 * ```ts
 * await retryInboxDead(['1042'], { consumer: 'analytics' })
 * await retryInboxDead('all')
 * ```
 * @throws {OperationInputError} when ids are given without `consumer` and dead events with them belong to several consumers or connections.
 */
export async function retryInboxDead(ids: readonly string[] | 'all', options: InboxScope = {}): Promise<number> {
  const { manager } = opsScope(options);
  const connections = await inboxConnections(manager, options.connection);
  if (ids !== 'all' && options.consumer === undefined) {
    const owners = new Set<string>();
    for (const name of connections) {
      for (const event of await listDeadInboxEvents(manager.get(name), {})) if (ids.includes(event.id)) owners.add(`${event.consumer} on ${name}`);
    }
    if (owners.size > 1) throw new OperationInputError('consumer', `these ids are dead events of several consumers (${nameList([...owners])}): name the consumer (and the connection)`, [...owners]);
  }
  let retried = 0;
  for (const name of connections) retried += await requestInboxRetry(manager.get(name), { consumer: options.consumer, ids: ids === 'all' ? undefined : ids });
  return retried;
}

/** The connections (not aliases) whose database has an inbox table: every one, or only `only` (which must exist). */
async function inboxConnections(manager: ConnectionManager, only: string | undefined): Promise<string[]> {
  if (only !== undefined) manager.get(only);
  const names = only === undefined ? manager.names() : [only];
  const present = await Promise.all(names.map((name) => tableExists(manager.get(name), INBOX_TABLE)));
  return names.filter((_, index) => present[index]);
}
