/**
 * One broker message as an {@link InboxConsumer} sees it. Made by a source
 * (`natsSource`, `rabbitSource`); the consumer settles it exactly once.
 */
export interface InboxMessage {
  readonly body: Uint8Array;
  /** True once this delivery can no longer be settled (RabbitMQ: its channel closed): the broker delivers the message again. */
  readonly gone: boolean;
  /** Deliveries of this message by the broker so far, this one included (RabbitMQ classic queues only know 1 or "more", counted as 2). */
  readonly deliveries: number;
  /** Tells the broker the message was handled; it is not delivered again. */
  ack(): Promise<void>;
  /** Gives the message back to the broker without handling it, for a later delivery. */
  release(): Promise<void>;
  /** Keeps the broker from redelivering the message while the consumer still works on it (JetStream: resets its ack wait). */
  working(): void;
  /** Copies the message, with `reason`, to the dead-letter subject or queue (awaiting the broker's confirmation), then acks it. */
  deadLetter(reason: string): Promise<void>;
}

/**
 * Where an {@link InboxConsumer} gets its messages: `natsSource(…)` or `rabbitSource(…)`.
 * A source hands messages to `handle` in the broker's order, in batches: each call gets every
 * message delivered since the previous call was made (at least one), and the next call waits
 * for it to return. The consumer settles each message of a batch exactly once.
 */
export interface InboxSource {
  /** The default consumer name (the durable consumer or the queue). */
  readonly name: string;
  /** Connects and starts handing messages over; resolves once subscribed. */
  open(handle: (messages: readonly InboxMessage[]) => Promise<void>): Promise<void>;
  /** Stops taking messages, waits for the batch being handled, and disconnects. */
  close(): Promise<void>;
}
