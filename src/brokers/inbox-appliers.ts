import type { Transaction } from '../connection/session/local-transaction.js';
import { ConfigError, PolyrecordError } from '../errors.js';
import { modelsNamed } from '../model/metadata.js';
import { applyRowsToTarget, syncTargetsOf, type SyncTarget } from '../sync/sync-to.js';
import type { InboxEvent } from './inbox-event.js';

/** Applies one event inside the inbox transaction: write through `trx` or through models on the consumer's connection. */
export type InboxHandler = (event: InboxEvent, trx: Transaction) => unknown;

/**
 * Applies consecutive events of one model inside the inbox transaction, in their order (a
 * record's events may be among them more than once: apply them in order, or keep each record's
 * last state). Called with a single event when a batch is retried one event at a time.
 */
export type InboxBatchHandler = (events: readonly InboxEvent[], trx: Transaction) => unknown;

/** An event's handler threw: `position` is the event's place in the list of events being applied (the batch's, out of `applyInboxBatch`). */
export class InboxEventFailed extends Error {
  constructor(
    readonly position: number,
    readonly error: unknown,
  ) {
    super('an inbox handler failed');
  }
}

/**
 * How an inbox applies events: a model's handler one event at a time; a model's batch handler,
 * or its `@SyncTo` targets, for each run of consecutive events of that model (one upsert and one
 * delete per target for the run). Runs keep the batch's order, so each record's events stay in
 * order.
 */
export class InboxAppliers {
  readonly #handlers: Readonly<Record<string, InboxHandler>>;
  readonly #batchHandlers: Readonly<Record<string, InboxBatchHandler>>;

  constructor(handlers: Record<string, InboxHandler> = {}, batchHandlers: Record<string, InboxBatchHandler> = {}) {
    for (const [option, given] of [['handlers', handlers], ['batchHandlers', batchHandlers]] as const) {
      if (given === null || typeof given !== 'object') throw new ConfigError(option, 'must be an object of functions by model name');
      for (const [model, fn] of Object.entries(given)) if (typeof fn !== 'function') throw new ConfigError(option, `${model}: must be a function`);
    }
    const both = Object.keys(handlers).filter((model) => Object.hasOwn(batchHandlers, model));
    if (both.length > 0) throw new ConfigError('batchHandlers', `${both.join(', ')} ha${both.length > 1 ? 've' : 's'} a handler and a batch handler: give one`);
    this.#handlers = { ...handlers };
    this.#batchHandlers = { ...batchHandlers };
  }

  /**
   * Applies `events` in order in `trx`. A per-event handler's failure rejects with an
   * {@link InboxEventFailed} naming the event; a run's failure (batch handler, `@SyncTo`)
   * rejects with its own error: no single event is to blame.
   */
  async apply(events: readonly InboxEvent[], trx: Transaction): Promise<void> {
    for (let start = 0; start < events.length; ) {
      const model = events[start]!.model;
      const handler = this.#handlers[model];
      if (handler) {
        try {
          await handler(events[start]!, trx);
        } catch (error) {
          throw new InboxEventFailed(start, error);
        }
        start += 1;
        continue;
      }
      let end = start + 1;
      while (end < events.length && events[end]!.model === model) end += 1;
      await this.#applyRun(model, events.slice(start, end), trx);
      start = end;
    }
  }

  /** {@link apply} of one event, failing with the handler's own error. */
  async applyOne(event: InboxEvent, trx: Transaction): Promise<void> {
    try {
      await this.apply([event], trx);
    } catch (error) {
      throw error instanceof InboxEventFailed ? error.error : error;
    }
  }

  async #applyRun(model: string, run: readonly InboxEvent[], trx: Transaction): Promise<void> {
    const batchHandler = this.#batchHandlers[model];
    if (batchHandler) {
      await batchHandler(run, trx);
      return;
    }
    const meta = modelsNamed(model).find((m) => syncTargetsOf(m).length > 0);
    if (!meta) throw new PolyrecordError('E_INBOX_NO_HANDLER', `no handler for ${model} events and no loaded model ${model} with @SyncTo`);
    for (const target of syncTargetsOf(meta)) await applyRowsToTarget(target, lastStates(target, run));
  }
}

/**
 * Each target row's last state in the run, in the order of those last events: applied in
 * one upsert and one delete, they leave the target as applying the events one by one would
 * (a destroyed event does nothing for a target that does not delete).
 */
function lastStates(target: SyncTarget, run: readonly InboxEvent[]): Array<{ row: Record<string, unknown>; operation: InboxEvent['kind'] }> {
  const last = new Map<string, { row: Record<string, unknown>; operation: InboxEvent['kind'] }>();
  for (const event of run) {
    if (event.kind === 'destroyed' && !target.delete) continue;
    const row = target.map(event.record<object>());
    const key = target.conflictKeys.map((k) => `${typeof row[k]}:${String(row[k])}`).join('\u0000');
    // Deleted first, so the map's order is that of each row's last event.
    last.delete(key);
    last.set(key, { row, operation: event.kind });
  }
  return [...last.values()];
}
