import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import { ReadScope } from '../context/read-scope.js';
import { runInFrame } from '../context/scope.js';
import { ConnectionManager } from '../connection/manager.js';
import { ConfigError, PolyrecordError } from '../errors.js';
import { decoders } from '../connection/column-codecs.js';
import { modelsNamed, type ModelMeta } from '../model/metadata.js';
import { claimEvents, markDone, markFailed, releaseClaims, reviveDead, type OutboxRow } from './outbox-claim.js';
import { ensureOutboxTable, OUTBOX_TABLE } from './outbox-table.js';
import { fromPayload, type RecordPayload } from './payload.js';
import { positiveOption } from './positive-option.js';
import type { OutboxPublisher } from './outbox-publisher.js';
import type { OutboxEvent } from './outbox-event.js';
import { applyBatchToTarget, applyToTarget, syncTargetsOf } from './sync-to.js';

export type { OutboxEvent } from './outbox-event.js';

export type OutboxHandler = (event: OutboxEvent) => unknown;

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /** Connection holding the outbox table. */
  connection: string;
  /** Handlers keyed by model class name. A model with `@SyncTo` and no handler is delivered to its sync targets. */
  handlers?: Record<string, OutboxHandler>;
  /**
   * Sends every event to a broker instead of handlers (`natsPublisher(…)`, `rabbitPublisher(…)`,
   * or any {@link OutboxPublisher}): a round's events are published together and each is marked
   * done once the broker confirmed it. Not together with `handlers`.
   */
  publish?: OutboxPublisher;
  /** Events claimed per round. Default 100. */
  batchSize?: number;
  /** Events delivered at once (never two of one record). Default 10. */
  concurrency?: number;
  /** Deliveries before an event is marked dead. Default 10. */
  maxAttempts?: number;
  /** Retry delay: `baseMs * 2^(attempt-1)`, capped at `maxMs`, with jitter. Default 500 / 60 000. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** How long a claim is held before another relay may take the event over. Default 30 000. */
  leaseMs?: number;
  /** Sleep between rounds that found less than a full batch. Default 1 000. */
  pollIntervalMs?: number;
  manager?: ConnectionManager;
}

/** What one round did. */
export interface RelayRunResult {
  delivered: number;
  failed: number;
  dead: number;
}

/** Events of `relay.events`. */
export interface OutboxRelayEvents {
  delivered: (event: OutboxEvent) => void;
  failed: (event: OutboxEvent, error: unknown) => void;
  dead: (event: OutboxEvent, error: unknown) => void;
  /** A round itself failed (e.g. the database is down); the loop retries after `pollIntervalMs`. */
  error: (error: unknown) => void;
}

/**
 * Delivers outbox events at least once, in order per record. Several relays (in one
 * process or several) may share an outbox: claims use `FOR UPDATE SKIP LOCKED` and a
 * lease, and only the oldest unfinished event of each record is claimable, so one
 * record never has two events in flight. A dead event holds back later events of the
 * same record until {@link retryDead} revives it.
 *
 * @example
 * ```ts
 * const relay = new OutboxRelay({ connection: 'primary', handlers: { User: async (e) => publish(e) } })
 * relay.start()
 * // ...
 * await relay.stop()
 * ```
 */
export class OutboxRelay {
  /** Identifies this relay's claims (`host:pid:random`). */
  readonly id = `${hostname().slice(0, 30)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly events = new EventEmitter<OutboxRelayEvents>();
  readonly #options: Required<Omit<OutboxRelayOptions, 'handlers' | 'manager' | 'backoff' | 'publish'>> & { backoff: { baseMs: number; maxMs: number } };
  readonly #handlers: Record<string, OutboxHandler>;
  readonly #publisher: OutboxPublisher | undefined;
  readonly #manager: ConnectionManager;
  #tableReady = false;
  #analyzedAt = 0;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(options: OutboxRelayOptions) {
    if (!options || typeof options.connection !== 'string') throw new ConfigError('connection', 'OutboxRelay needs the connection holding the outbox');
    this.#options = {
      connection: options.connection,
      batchSize: positiveOption('batchSize', options.batchSize, 100),
      concurrency: positiveOption('concurrency', options.concurrency, 10),
      maxAttempts: positiveOption('maxAttempts', options.maxAttempts, 10),
      leaseMs: positiveOption('leaseMs', options.leaseMs, 30_000),
      pollIntervalMs: positiveOption('pollIntervalMs', options.pollIntervalMs, 1_000),
      backoff: { baseMs: positiveOption('backoff.baseMs', options.backoff?.baseMs, 500), maxMs: positiveOption('backoff.maxMs', options.backoff?.maxMs, 60_000) },
    };
    if (options.publish !== undefined && typeof options.publish?.publish !== 'function') throw new ConfigError('publish', 'must be a publisher such as natsPublisher({ … }) or an object with publish(events)');
    if (options.publish && options.handlers && Object.keys(options.handlers).length > 0) throw new ConfigError('publish', 'give either handlers or publish, not both: with publish every event goes to the broker');
    this.#handlers = { ...(options.handlers ?? {}) };
    this.#publisher = options.publish;
    this.#manager = options.manager ?? ConnectionManager.default;
    this.#manager.get(options.connection);
  }

  /** Claims what is due now, delivers it, and resolves with the counts. */
  async runOnce(): Promise<RelayRunResult> {
    const connection = this.#manager.get(this.#options.connection);
    if (!this.#tableReady) {
      await ensureOutboxTable(this.#options.connection, this.#manager);
      this.#tableReady = true;
    }
    const now = Date.now();
    const leaseUntil = now + this.#options.leaseMs;
    // Deliveries start only while the lease has a fifth of its length left: after that another relay may own the event.
    const lastStart = leaseUntil - this.#options.leaseMs / 5;
    const rows = await claimEvents(connection, this.id, this.#options.batchSize, now, leaseUntil);
    if (rows.length === this.#options.batchSize && now - this.#analyzedAt > 60_000) {
      // A backlog built up faster than autovacuum refreshes statistics makes the planner sort every
      // pending row per claim; fresh statistics let it walk the primary key and stop after one batch.
      this.#analyzedAt = now;
      await connection.execute(connection.dialect.analyzeStatement(OUTBOX_TABLE), []);
    }
    const result: RelayRunResult = { delivered: 0, failed: 0, dead: 0 };
    const delivered: string[] = [];
    // Events going to @SyncTo targets are written in one statement per target when possible (one claimed
    // event per record, so a batch never holds two events of one record); what that cannot take goes one by one.
    const queue = this.#publisher ? await this.#publishAll(this.#publisher, rows, delivered, result) : await this.#deliverToTargetsInBulk(rows, delivered, result);
    const worker = async () => {
      while (!this.#stopping && queue.length > 0 && Date.now() < lastStart) {
        const row = queue.shift()!;
        const event = this.#toEvent(row);
        const outcome = await this.#deliver(event);
        if (outcome === 'delivered') {
          delivered.push(row.id);
          result.delivered += 1;
        } else result[outcome] += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#options.concurrency, rows.length) }, worker));
    await markDone(connection, this.id, delivered, new Date());
    // Stopping, or the lease is running out: hand back what was claimed but not started.
    await releaseClaims(connection, this.id, queue.map((r) => r.id));
    return result;
  }

  async #deliverToTargetsInBulk(rows: OutboxRow[], delivered: string[], result: RelayRunResult): Promise<OutboxRow[]> {
    const byAggregate = new Map<string, OutboxRow[]>();
    const rest: OutboxRow[] = [];
    for (const row of rows) {
      if (this.#handlers[row.aggregate] || Number(row.attempts) > this.#options.maxAttempts || modelsNamed(row.aggregate).length === 0) rest.push(row);
      else byAggregate.set(row.aggregate, [...(byAggregate.get(row.aggregate) ?? []), row]);
    }
    for (const [aggregate, group] of byAggregate) {
      const meta = this.#model(aggregate);
      const targets = syncTargetsOf(meta);
      const events = group.map((row) => this.#toEvent(row));
      try {
        if (targets.length === 0 || events.length < 2) throw new Error('deliver one by one');
        const items = events.map((event) => ({ record: event.record<object>(), operation: event.type }));
        for (const target of targets) await applyBatchToTarget(target, items);
      } catch {
        rest.push(...group);
        continue;
      }
      for (const event of events) {
        delivered.push(event.id);
        this.#notify('delivered', event);
      }
      result.delivered += events.length;
    }
    return rest.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
  }

  /**
   * Hands a round's events to the publisher at once (it awaits the broker's confirmations in
   * parallel) and records each outcome. Events claimed too often are left for {@link #deliver},
   * which marks them dead without publishing.
   */
  async #publishAll(publisher: OutboxPublisher, rows: OutboxRow[], delivered: string[], result: RelayRunResult): Promise<OutboxRow[]> {
    const overused = rows.filter((row) => Number(row.attempts) > this.#options.maxAttempts);
    const events = rows.filter((row) => Number(row.attempts) <= this.#options.maxAttempts).map((row) => this.#toEvent(row));
    if (events.length === 0) return overused;
    let outcomes: ReadonlyArray<unknown>;
    try {
      outcomes = await publisher.publish(events);
      // An outcome missing for an event must not pass for a confirmation.
      if (!Array.isArray(outcomes) || outcomes.length !== events.length) throw new PolyrecordError('E_OUTBOX_PUBLISH', `the publisher answered ${Array.isArray(outcomes) ? outcomes.length : 'no'} outcomes for ${events.length} events`);
    } catch (error) {
      outcomes = events.map(() => error ?? new Error('publish failed'));
    }
    for (const [i, event] of events.entries()) {
      const error = outcomes[i];
      if (error === undefined) {
        delivered.push(event.id);
        result.delivered += 1;
        this.#notify('delivered', event);
      } else result[await this.#recordFailure(event, error)] += 1;
    }
    return overused;
  }

  async #deliver(event: OutboxEvent): Promise<'delivered' | 'failed' | 'dead'> {
    const connection = this.#manager.get(this.#options.connection);
    if (event.attempts > this.#options.maxAttempts) {
      // Claimed more often than allowed without finishing: earlier deliveries crashed or outlived their lease.
      const error = new PolyrecordError('E_OUTBOX_ATTEMPTS', `event ${event.id} was claimed ${event.attempts} times without finishing`);
      await markFailed(connection, this.id, event.id, error.message, true, 0);
      this.#notify('dead', event, error);
      return 'dead';
    }
    try {
      await this.#handle(event);
    } catch (error) {
      return this.#recordFailure(event, error);
    }
    this.#notify('delivered', event);
    return 'delivered';
  }

  /** A failed delivery: back to pending after the backoff, or dead after the last attempt. */
  async #recordFailure(event: OutboxEvent, error: unknown): Promise<'failed' | 'dead'> {
    const dead = event.attempts >= this.#options.maxAttempts;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await markFailed(this.#manager.get(this.#options.connection), this.id, event.id, message, dead, Date.now() + this.#delay(event.attempts));
    this.#notify(dead ? 'dead' : 'failed', event, error);
    return dead ? 'dead' : 'failed';
  }

  /** Tells the listeners of an outcome, which is already settled: a listener that throws is reported as a warning and changes nothing. */
  #notify(name: 'delivered' | 'failed' | 'dead', event: OutboxEvent, error?: unknown): void {
    try {
      if (name === 'delivered') this.events.emit(name, event);
      else this.events.emit(name, event, error);
    } catch (listenerError) {
      process.emitWarning(`polyrecord OutboxRelay ${this.id}: a '${name}' listener of event ${event.id} threw: ${listenerError instanceof Error ? listenerError.message : String(listenerError)}`, 'PolyrecordWarning');
    }
  }

  async #handle(event: OutboxEvent): Promise<void> {
    const handler = this.#handlers[event.aggregate];
    if (handler) {
      await handler(event);
      return;
    }
    const meta = this.#model(event.aggregate);
    const targets = syncTargetsOf(meta);
    if (targets.length === 0) throw new PolyrecordError('E_OUTBOX_NO_HANDLER', `no handler for ${event.aggregate} events and no @SyncTo on it`);
    const record = event.record<object>();
    for (const target of targets) await applyToTarget(target, record, event.type);
  }

  #model(aggregate: string): ModelMeta {
    const metas = modelsNamed(aggregate);
    const meta = metas.find((m) => syncTargetsOf(m).length > 0) ?? metas[0];
    if (!meta) throw new PolyrecordError('E_OUTBOX_NO_MODEL', `no model named ${aggregate} is loaded in this process`);
    return meta;
  }

  #toEvent(row: OutboxRow): OutboxEvent {
    const payload = JSON.parse(row.payload) as RecordPayload;
    return {
      id: row.id,
      aggregate: row.aggregate,
      key: row.aggregate_key,
      type: row.event_type as OutboxEvent['type'],
      payload,
      attempts: Number(row.attempts),
      createdAt: decoders.datetime(row.created_at) as Date,
      record: <T>() => fromPayload(this.#model(row.aggregate), payload) as T,
    };
  }

  #delay(attempt: number): number {
    const { baseMs, maxMs } = this.#options.backoff;
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
    // Full jitter on the upper half keeps retries of many events from arriving together.
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  /** Polls every `pollIntervalMs` (at once again after a full batch) until {@link stop}. */
  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    // The relay's own read-your-writes scope: its claims and deliveries are writes, and in the
    // scope of whoever started it (often the whole process) they would keep sending that
    // scope's reads to the primary instead of a replica.
    this.#loop = runInFrame({ reads: new ReadScope(undefined) }, async () => {
      while (!this.#stopping) {
        let full = false;
        try {
          const result = await this.runOnce();
          full = result.delivered + result.failed + result.dead >= this.#options.batchSize;
        } catch (error) {
          if (this.events.listenerCount('error') > 0) this.events.emit('error', error);
          else process.emitWarning(`polyrecord OutboxRelay ${this.id}: round failed, retrying in ${this.#options.pollIntervalMs} ms: ${error instanceof Error ? error.message : String(error)}`, 'PolyrecordWarning');
        }
        if (!full && !this.#stopping) await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#options.pollIntervalMs);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    });
  }

  /** Finishes events already being delivered, hands back the rest of the claim, and stops polling. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
    this.#stopping = false;
    await this.#publisher?.close?.();
  }

  /** Puts dead events (all, or these ids) back to pending with a fresh attempt count. Resolves with how many. */
  retryDead(ids?: readonly (string | number)[]): Promise<number> {
    return reviveDead(this.#manager.get(this.#options.connection), ids?.map(String));
  }
}
