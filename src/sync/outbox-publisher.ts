import type { OutboxEvent } from './outbox-event.js';

/**
 * Where an {@link OutboxRelay} with a `publish` option sends its events instead of handlers:
 * a message broker (`natsPublisher`, `rabbitPublisher`) or anything that confirms receipt.
 *
 * `publish` gets every event of a round at once (never two of one record) and resolves with
 * one outcome per event, in the same order: `undefined` when the receiver confirmed that
 * event, or the error that kept it from confirming. Only confirmed events are marked done;
 * the others are retried with the relay's backoff. A rejection of the whole call, or a wrong
 * number of outcomes, fails every event of the round.
 *
 * @example
 * ```ts
 * const publisher: OutboxPublisher = {
 *   async publish(events) {
 *     return Promise.all(events.map((e) => bus.send(e.id, e.payload).then(() => undefined, (error) => error)))
 *   },
 * }
 * new OutboxRelay({ connection: 'primary', publish: publisher }).start()
 * ```
 */
export interface OutboxPublisher {
  publish(events: readonly OutboxEvent[]): Promise<ReadonlyArray<unknown>>;
  /** Releases what the publisher holds (its broker connection); called by `relay.stop()`. It may be used again afterwards. */
  close?(): Promise<void>;
}
