import type { JsMsg } from '@nats-io/jetstream';
import type { InboxMessage } from './inbox-source.js';

/**
 * The JetStream messages a live consumer holds (delivered, not yet acked or given back), kept
 * from being redelivered while it works on them: every third of the ack wait each gets a
 * "working" signal, in stream order. Without it a batch that outlives the ack wait has its
 * messages redelivered behind newer ones, to the consumer that is still applying them.
 */
export class HeldMessages {
  readonly #held = new Map<InboxMessage, JsMsg>();
  #timer: NodeJS.Timeout | undefined;
  #intervalMs = 0;

  hold(message: InboxMessage, delivery: JsMsg): void {
    this.#held.set(message, delivery);
  }

  letGo(message: InboxMessage): void {
    this.#held.delete(message);
  }

  /** Renews the held messages' ack timers every third of `ackWaitMs` (again after a change of ack wait). */
  renewEvery(ackWaitMs: number): void {
    const intervalMs = Math.max(50, Math.floor(ackWaitMs / 3));
    if (this.#timer !== undefined && intervalMs === this.#intervalMs) return;
    clearInterval(this.#timer);
    this.#intervalMs = intervalMs;
    this.#timer = setInterval(() => this.#renew(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#held.clear();
  }

  #renew(): void {
    const deliveries = [...this.#held.values()].sort((a, b) => a.info.streamSequence - b.info.streamSequence);
    for (const delivery of deliveries) delivery.working();
  }
}
