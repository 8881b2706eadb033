import type { JsMsg } from '@nats-io/jetstream';

/**
 * Puts JetStream's redeliveries back into stream order before a consumer sees them.
 *
 * Messages a durable still had unacked (held by a consumer that died, given back with a nak,
 * lost in a reconnect) are queued for redelivery and sent before anything new, but in the
 * order their ack waits ran out or their naks came, which is not stream order: a record's
 * older event could be applied after its newer one. The source, once it has waited the ack
 * wait out, tells this how many it expects; redelivered messages are then held until that
 * many came, a first delivery arrives (the redelivery queue is empty: nothing older follows),
 * or none came for `quietMs`; they are released sorted by stream sequence.
 */
export class RedeliveryOrder {
  readonly #release: (message: JsMsg) => void;
  readonly #quietMs: number;
  #expected = 0;
  #waiting: JsMsg[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(release: (message: JsMsg) => void, quietMs: number) {
    this.#release = release;
    this.#quietMs = quietMs;
  }

  /** The number of redeliveries the next pull starts with (the durable's unacked count after the fence). */
  expect(count: number): void {
    this.#expected = count;
  }

  push(message: JsMsg): void {
    if (this.#expected > 0 && message.info.deliveryCount > 1) {
      this.#waiting.push(message);
      if (this.#waiting.length >= this.#expected) this.flush();
      else this.#armQuietTimer();
      return;
    }
    this.flush();
    this.#release(message);
  }

  /** Releases what is held, in stream order, and expects nothing more. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#expected = 0;
    const waiting = this.#waiting.splice(0).sort((a, b) => a.info.streamSequence - b.info.streamSequence);
    for (const message of waiting) this.#release(message);
  }

  /** Drops what is held without releasing it (unacked, JetStream sends it again) and expects nothing more. */
  discard(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#expected = 0;
    this.#waiting = [];
  }

  #armQuietTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.flush(), this.#quietMs);
  }
}
