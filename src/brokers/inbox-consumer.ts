import { setTimeout as sleep } from 'node:timers/promises';
import { EventEmitter } from 'eventemitter3';
import { ConnectionManager } from '../connection/manager.js';
import { ConfigError, PolyrecordError, UniqueViolationError } from '../errors.js';
import { modelsNamed, type ModelMeta } from '../model/metadata.js';
import { fromPayload } from '../sync/payload.js';
import { positiveOption } from '../sync/positive-option.js';
import { backoffMs } from '../util/retry.js';
import { decodeEnvelope, type OutboxEnvelope } from './envelope.js';
import { InboxAppliers, InboxEventFailed, type InboxBatchHandler, type InboxHandler } from './inbox-appliers.js';
import { applyInboxBatch } from './inbox-batch.js';
import type { InboxEvent } from './inbox-event.js';
import { listDeadInboxEvents, type DeadInboxEvent } from './inbox-dead.js';
import { ensureInboxTable, INBOX_TABLE } from './inbox-table.js';
import type { InboxMessage, InboxSource } from './inbox-source.js';

/** Options of {@link InboxConsumer}. */
export interface InboxConsumerOptions {
  /** The connection the events are applied on, and that holds `polyrecord_inbox`. */
  connection: string;
  /** Where messages come from: `natsSource(…)` or `rabbitSource(…)`. */
  source: InboxSource;
  /** Handlers by model name, called once per event. A model without a handler or a batch handler but with `@SyncTo` gets its sync targets applied. */
  handlers?: Record<string, InboxHandler>;
  /**
   * Batch handlers by model name: called once per run of consecutive events of that model in a
   * batch (in order; a record may appear more than once), so a handler can write them in one
   * statement. A model has a handler or a batch handler, not both.
   */
  batchHandlers?: Record<string, InboxBatchHandler>;
  /** Names this consumer in the inbox table (two consumers on one connection keep separate inboxes). Default: the source's name. */
  name?: string;
  /**
   * Most events applied in one local transaction (one commit, then their acks), from the
   * messages the source has delivered. Default 100, at most 1,000. The source's `prefetch` /
   * `maxAckPending` (100 each by default) bounds it too. 1 handles one message per transaction.
   */
  batchSize?: number;
  /** Tries before an event is dead. Default 10. */
  maxAttempts?: number;
  /** Wait between tries: `baseMs * 2^(try-1)` capped at `maxMs`, with jitter. Default 200 / 10 000. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** How long `done` inbox rows are kept, in ms. Default 7 days. Must exceed the longest time a duplicate can arrive (docs/brokers.md#pruning-the-inbox). */
  retentionMs?: number;
  /** How often a started consumer prunes, in ms. Default 1 hour. */
  pruneIntervalMs?: number;
  /** How often a started consumer looks for dead events handed back by `polyrecord inbox retry` (status `retry`), in ms. Default 5 000. */
  retryPollMs?: number;
  manager?: ConnectionManager;
}

/** Events of `consumer.events`. */
export interface InboxConsumerEvents {
  /** Applied and committed (the ack follows). */
  applied: (event: InboxEvent) => void;
  /** Already in the inbox: dropped without a second effect (and acked). */
  duplicate: (event: InboxEvent) => void;
  /** A try failed; it is tried again after the backoff. */
  failed: (event: InboxEvent, error: unknown) => void;
  /** Given up: recorded as dead and sent to the dead-letter subject or queue. `event` is undefined for a body that is no envelope. */
  dead: (event: InboxEvent | undefined, error: unknown) => void;
  /** Something outside a handler failed: an ack (the message comes again and is dropped), recording a dead event (the message is given back), pruning. */
  error: (error: unknown) => void;
}

export type { DeadInboxEvent };

/** Thrown out of the inbox transaction to roll it back when the event is already recorded. */
class AlreadyInInbox extends Error {}

/** The most events of one inbox transaction. */
const MAX_BATCH_SIZE = 1_000;

/**
 * Applies events from a broker effectively once: the messages the source delivered are
 * applied in batches of up to `batchSize`, each batch in one local transaction on `connection`
 * that also inserts a `polyrecord_inbox` row per event (keyed by the event id), and acked after
 * the commit. A redelivered or duplicated message finds its row and is acked without a second
 * effect. When a batch fails, its events are tried again one per transaction: a failing event
 * is tried `maxAttempts` times with backoff, then recorded as dead and copied to the
 * dead-letter subject or queue.
 *
 * @example
 * ```ts
 * const consumer = new InboxConsumer({
 *   connection: 'analytics',
 *   source: natsSource({ servers: 'nats://127.0.0.1:4222', stream: 'ORDERS', durable: 'analytics', filter: 'orders.>' }),
 *   handlers: { Order: async (event, trx) => { await trx.table('order_totals').insert({ id: event.key, total: event.payload.totalCents }) } },
 * })
 * await consumer.start()
 * // …
 * await consumer.stop()
 * ```
 */
export class InboxConsumer {
  readonly events = new EventEmitter<InboxConsumerEvents>();
  /** The consumer's name in the inbox table. */
  readonly name: string;
  readonly #connection: string;
  readonly #source: InboxSource;
  readonly #appliers: InboxAppliers;
  readonly #manager: ConnectionManager;
  readonly #maxAttempts: number;
  readonly #batchSize: number;
  readonly #backoff: { attempts: number; baseMs: number; maxMs: number };
  readonly #retentionMs: number;
  readonly #pruneIntervalMs: number;
  readonly #retryPollMs: number;
  #running = false;
  #stopping = false;
  #pruner: NodeJS.Timeout | undefined;
  #retryPoller: NodeJS.Timeout | undefined;
  #polling: Promise<unknown> = Promise.resolve();
  /** Acks sent and not answered yet. */
  readonly #acking = new Set<Promise<void>>();

  constructor(options: InboxConsumerOptions) {
    if (!options || typeof options.connection !== 'string') throw new ConfigError('connection', 'InboxConsumer needs the connection the events are applied on');
    if (!options.source || typeof options.source.open !== 'function') throw new ConfigError('source', 'InboxConsumer needs a source: natsSource({ … }) or rabbitSource({ … })');
    this.#connection = options.connection;
    this.#source = options.source;
    this.#appliers = new InboxAppliers(options.handlers, options.batchHandlers);
    this.#manager = options.manager ?? ConnectionManager.default;
    this.name = options.name ?? options.source.name;
    if (typeof this.name !== 'string' || this.name === '' || this.name.length > 128) throw new ConfigError('name', 'must be a non-empty string of at most 128 characters');
    this.#maxAttempts = positiveOption('maxAttempts', options.maxAttempts, 10);
    this.#batchSize = positiveOption('batchSize', options.batchSize, 100);
    if (this.#batchSize > MAX_BATCH_SIZE) throw new ConfigError('batchSize', `must be at most ${MAX_BATCH_SIZE} (got ${this.#batchSize})`);
    this.#backoff = { attempts: this.#maxAttempts, baseMs: positiveOption('backoff.baseMs', options.backoff?.baseMs, 200), maxMs: positiveOption('backoff.maxMs', options.backoff?.maxMs, 10_000) };
    this.#retentionMs = positiveOption('retentionMs', options.retentionMs, 7 * 24 * 3600_000);
    this.#pruneIntervalMs = positiveOption('pruneIntervalMs', options.pruneIntervalMs, 3600_000);
    this.#retryPollMs = positiveOption('retryPollMs', options.retryPollMs, 5_000);
    this.#manager.get(options.connection);
  }

  /**
   * Creates the inbox table if needed, subscribes, and resolves once messages flow. Prunes now and
   * every `pruneIntervalMs`; applies events handed back by `polyrecord inbox retry` every `retryPollMs`.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    await ensureInboxTable(this.#connection, this.#manager);
    this.#stopping = false;
    await this.#source.open((messages) => this.#handleDelivered(messages));
    this.#running = true;
    const prune = () => this.prune().catch((error: unknown) => this.#report(error));
    void prune();
    this.#pruner = setInterval(prune, this.#pruneIntervalMs);
    this.#pruner.unref();
    // One poll at a time: a slow one is not overtaken by the next.
    this.#retryPoller = setInterval(() => {
      this.#polling = this.#polling.then(() => this.#revive('retry').catch((error: unknown) => this.#report(error)));
    }, this.#retryPollMs);
    this.#retryPoller.unref();
  }

  /** Lets the batch being handled finish (its acks included), gives back what was not started, and disconnects. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#pruner);
    clearInterval(this.#retryPoller);
    await this.#polling;
    // The source's connection must outlive the acks (a batch still being handled waits for its own).
    await this.#acked();
    await this.#source.close();
    this.#running = false;
  }

  /** Deletes `done` inbox rows older than `retentionMs` (dead rows stay). Resolves with how many. */
  async prune(): Promise<number> {
    const connection = this.#manager.get(this.#connection);
    const deleted = connection.knex.raw(`delete from ${INBOX_TABLE} where consumer = ? and status = 'done' and processed_at < ?`, [this.name, Date.now() - this.#retentionMs]);
    return (await connection.runBuilder(deleted)).affected;
  }

  /** The dead events of this consumer, oldest first. */
  async deadEvents(): Promise<DeadInboxEvent[]> {
    return listDeadInboxEvents(this.#manager.get(this.#connection), { consumer: this.name });
  }

  /**
   * Applies dead events again (all, or these ids) from the envelopes kept in the inbox, each in
   * its own transaction that turns its row to `done`. Resolves with how many were applied; one
   * that fails again stays dead with the new error.
   */
  async retryDead(ids?: readonly string[]): Promise<number> {
    return this.#revive('dead', ids);
  }

  /**
   * Applies the `status` rows (`dead`, or `retry`: handed back by `polyrecord inbox retry`) from
   * their kept envelopes, each in its own transaction that turns its row `done`. One that fails
   * again is (again) `dead`, with the new error.
   */
  async #revive(status: 'dead' | 'retry', ids?: readonly string[]): Promise<number> {
    const connection = this.#manager.get(this.#connection);
    let query = connection.knex(INBOX_TABLE).where({ consumer: this.name, status }).whereNotNull('envelope');
    if (ids) query = query.whereIn('event_id', [...ids]);
    let applied = 0;
    for (const row of await query.orderBy('processed_at').select('event_id', 'envelope')) {
      const envelope = decodeEnvelope(new TextEncoder().encode(row.envelope as string));
      const event = this.#toEvent(envelope, 1);
      try {
        const revived = await this.#manager.transaction(this.#connection, async (trx) => {
          const claim = connection.knex.raw(`update ${INBOX_TABLE} set status = 'done', last_error = null, envelope = null, processed_at = ? where consumer = ? and event_id = ? and status = ?`, [Date.now(), this.name, envelope.id, status]);
          // Another consumer or retryDead() took this event first.
          if ((await trx.runBuilder(claim)).affected === 0) return false;
          await this.#appliers.applyOne(event, trx);
          return true;
        });
        if (!revived) continue;
        applied += 1;
        this.#notify('applied', event);
      } catch (error) {
        await connection.runBuilder(connection.knex.raw(`update ${INBOX_TABLE} set status = 'dead', last_error = ? where consumer = ? and event_id = ? and status = ?`, [describe(error), this.name, envelope.id, status]));
      }
    }
    return applied;
  }

  /** Handles what the source delivered, in order, `batchSize` messages at a time; once stopping, gives the rest back. */
  async #handleDelivered(messages: readonly InboxMessage[]): Promise<void> {
    for (let from = 0; from < messages.length; from += this.#batchSize) {
      const batch = messages.slice(from, from + this.#batchSize);
      if (this.#stopping) await Promise.all(batch.map((message) => (message.gone ? undefined : message.release().catch(() => undefined))));
      else await this.#handleBatch(batch);
    }
    if (this.#stopping) await this.#acked();
  }

  /**
   * Applies a batch in one transaction, then acks it. Messages that are no envelope, or were
   * delivered too often, are given up on first. If the transaction fails, each event is
   * handled on its own, in order; the one whose handler failed counts that as its first try.
   */
  async #handleBatch(messages: readonly InboxMessage[]): Promise<void> {
    const ready: Array<{ message: InboxMessage; envelope: OutboxEnvelope }> = [];
    for (const message of messages) {
      // A delivery whose channel closed is the broker's again: it comes back on the new connection.
      if (message.gone) continue;
      let envelope: OutboxEnvelope;
      try {
        envelope = decodeEnvelope(message.body);
      } catch (error) {
        await this.#giveUp(message, undefined, 0, error);
        continue;
      }
      if (message.deliveries > this.#maxAttempts) {
        // Delivered more often than allowed without an ack: earlier consumers crashed on it.
        await this.#giveUp(message, envelope, message.deliveries, new PolyrecordError('E_INBOX_ATTEMPTS', `event ${envelope.id} was delivered ${message.deliveries} times without being applied`));
        continue;
      }
      ready.push({ message, envelope });
    }
    let blamed: InboxEventFailed | undefined;
    if (ready.length > 1) {
      const events = ready.map(({ envelope }) => this.#toEvent(envelope, 1));
      try {
        const outcomes = await this.#manager.transaction(this.#connection, (trx) => applyInboxBatch(trx, this.name, events, (fresh) => this.#appliers.apply(fresh, trx)));
        events.forEach((event, i) => this.#notify(outcomes[i]!, event));
        for (const { message } of ready) this.#ack(message);
        return;
      } catch (error) {
        // Not an event's fault (a commit, a deadlock, a concurrent copy of an event): every event starts afresh.
        if (error instanceof InboxEventFailed) blamed = error;
      }
    }
    for (const [i, { message, envelope }] of ready.entries()) await this.#handleOne(message, envelope, blamed?.position === i ? blamed.error : undefined, ready.slice(i).map((r) => r.message));
  }

  /**
   * Applies one message's event in its own transaction, retrying with backoff, then acks it or
   * gives up on it. `failedInBatch`: the error of its first try, made in a batch. `waiting`: the
   * batch's messages not settled yet (this one first), kept from being redelivered meanwhile.
   */
  async #handleOne(message: InboxMessage, envelope: OutboxEnvelope, failedInBatch: unknown, waiting: readonly InboxMessage[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.#stopping || message.gone) {
        if (!message.gone) await message.release().catch(() => undefined);
        return;
      }
      const event = this.#toEvent(envelope, attempt);
      let outcome: 'applied' | 'duplicate';
      try {
        if (attempt === 1 && failedInBatch !== undefined) throw failedInBatch;
        outcome = await this.#applyOnce(event);
      } catch (error) {
        if (attempt >= this.#maxAttempts) {
          await this.#giveUp(message, envelope, attempt, error);
          return;
        }
        this.#notify('failed', event, error);
        await this.#pause(waiting, backoffMs(this.#backoff, attempt, true));
        continue;
      }
      this.#notify(outcome, event);
      this.#ack(message);
      return;
    }
  }

  /**
   * Acks without waiting for the broker's answer: the next batch may start meanwhile (the acks go
   * out in order on one connection). A lost ack (the connection went, JetStream did not confirm
   * it) means one more delivery, which the inbox drops.
   */
  #ack(message: InboxMessage): void {
    const sent: Promise<void> = message
      .ack()
      .catch((error: unknown) => this.#report(error))
      .finally(() => this.#acking.delete(sent));
    this.#acking.add(sent);
  }

  /** Resolves once the acks sent so far were answered. */
  async #acked(): Promise<void> {
    await Promise.all([...this.#acking]);
  }

  /** The inbox row and the event's effect, in one transaction: `duplicate` when the row was there already. */
  async #applyOnce(event: InboxEvent): Promise<'applied' | 'duplicate'> {
    try {
      await this.#manager.transaction(this.#connection, async (trx) => {
        try {
          await trx.query(`insert into ${INBOX_TABLE} (consumer, event_id, model, event_key, status, attempts, processed_at) values (?, ?, ?, ?, 'done', ?, ?)`, [this.name, event.id, event.model, event.key, event.attempts, Date.now()]);
        } catch (error) {
          // Another delivery of this event committed first (or is committing: the insert waited for it).
          if (error instanceof UniqueViolationError) throw new AlreadyInInbox();
          throw error;
        }
        await this.#appliers.applyOne(event, trx);
      });
      return 'applied';
    } catch (error) {
      if (error instanceof AlreadyInInbox) return 'duplicate';
      throw error;
    }
  }

  /** Records the event as dead and dead-letters the message; if that cannot be done, gives the message back for a later try. */
  async #giveUp(message: InboxMessage, envelope: OutboxEnvelope | undefined, attempts: number, error: unknown): Promise<void> {
    const event = envelope && this.#toEvent(envelope, attempts);
    try {
      if (envelope) await this.#recordDead(envelope, attempts, error);
      await message.deadLetter(describe(error));
    } catch (failure) {
      this.#report(failure);
      await message.release().catch(() => undefined);
      return;
    }
    this.#notify('dead', event, error);
  }

  async #recordDead(envelope: OutboxEnvelope, attempts: number, error: unknown): Promise<void> {
    const connection = this.#manager.get(this.#connection);
    const values = [this.name, envelope.id, envelope.model.slice(0, 128), envelope.key.slice(0, 191), attempts, describe(error), JSON.stringify(envelope), Date.now()];
    try {
      await connection.runBuilder(connection.knex.raw(`insert into ${INBOX_TABLE} (consumer, event_id, model, event_key, status, attempts, last_error, envelope, processed_at) values (?, ?, ?, ?, 'dead', ?, ?, ?, ?)`, values));
    } catch (failure) {
      // Already recorded (done by another delivery, or dead before a crash): nothing to add.
      if (!(failure instanceof UniqueViolationError)) throw failure;
    }
  }

  /** Waits out a backoff, telling the broker every few seconds that the messages are still being worked on. */
  async #pause(messages: readonly InboxMessage[], ms: number): Promise<void> {
    const working = () => messages.forEach((message) => message.working());
    for (let left = ms; left > 0 && !this.#stopping; left -= 5_000) {
      working();
      await sleep(Math.min(left, 5_000));
    }
    working();
  }

  #toEvent(envelope: OutboxEnvelope, attempts: number): InboxEvent {
    return {
      id: envelope.id,
      model: envelope.model,
      key: envelope.key,
      kind: envelope.kind,
      payload: envelope.payload,
      occurredAt: new Date(envelope.occurredAt),
      schemaVersion: envelope.schemaVersion,
      attempts,
      record: <T>() => fromPayload(modelNamed(envelope.model), envelope.payload) as T,
    };
  }

  #notify(name: 'applied' | 'duplicate' | 'failed' | 'dead', event: InboxEvent | undefined, error?: unknown): void {
    try {
      if (name === 'applied' || name === 'duplicate') this.events.emit(name, event!);
      else if (name === 'failed') this.events.emit(name, event!, error);
      else this.events.emit(name, event, error);
    } catch (listenerError) {
      process.emitWarning(`polyrecord InboxConsumer ${this.name}: a '${name}' listener threw: ${describe(listenerError)}`, 'PolyrecordWarning');
    }
  }

  #report(error: unknown): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', error);
    else process.emitWarning(`polyrecord InboxConsumer ${this.name}: ${describe(error)}`, 'PolyrecordWarning');
  }
}

function modelNamed(name: string): ModelMeta {
  const meta = modelsNamed(name)[0];
  if (!meta) throw new PolyrecordError('E_INBOX_NO_MODEL', `no model named ${name} is loaded in this process`);
  return meta;
}

function describe(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 4000);
}
