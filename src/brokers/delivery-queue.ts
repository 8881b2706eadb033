import type { InboxMessage } from './inbox-source.js';

/**
 * Hands a source's delivered messages to its consumer in delivery order, one call at a time,
 * in batches: every message that arrived while the previous call ran goes to the next call.
 * A busy consumer so gets large batches and an idle one single messages, without a linger.
 */
export class DeliveryQueue {
  readonly #handle: (messages: readonly InboxMessage[]) => Promise<void>;
  #waiting: InboxMessage[] = [];
  #pumping = false;
  #pump: Promise<void> = Promise.resolve();

  constructor(handle: (messages: readonly InboxMessage[]) => Promise<void>) {
    this.#handle = handle;
  }

  push(message: InboxMessage): void {
    this.#waiting.push(message);
    if (this.#pumping) return;
    this.#pumping = true;
    this.#pump = this.#run();
  }

  /** Removes and returns the messages not handed over yet. */
  take(): InboxMessage[] {
    return this.#waiting.splice(0);
  }

  /** Resolves once every message pushed so far has been handed over and its call returned. */
  idle(): Promise<void> {
    return this.#pump;
  }

  async #run(): Promise<void> {
    try {
      // The messages of one socket read arrive one by one: let them join the first one's batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.#waiting.length > 0) await this.#handle(this.#waiting.splice(0)).catch(() => undefined);
    } finally {
      this.#pumping = false;
    }
  }
}
