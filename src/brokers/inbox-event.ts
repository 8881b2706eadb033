import type { RecordPayload } from '../sync/payload.js';
import type { OutboxEnvelope } from './envelope.js';

/** One event handed to an inbox handler: the envelope, read. */
export interface InboxEvent {
  /** The event id (the envelope's `id`), unique per source outbox. */
  id: string;
  model: string;
  key: string;
  kind: OutboxEnvelope['kind'];
  /** The record's values (JSON-safe, see docs/brokers.md#the-envelope). */
  payload: RecordPayload;
  occurredAt: Date;
  schemaVersion: number;
  /** Tries of this event in this process so far, this one included (a batch rolled back by another event's failure is no try of this one). */
  attempts: number;
  /** The payload as an instance of the model (not persisted); the model class must be loaded here. */
  record<T = unknown>(): T;
}
