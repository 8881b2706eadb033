import type { WriteContext } from '../model/lifecycle.js';
import type { RecordPayload } from './payload.js';

/** One outbox event handed to a handler. */
export interface OutboxEvent {
  id: string;
  /** Model class name. */
  aggregate: string;
  /** The record's primary key, as text. */
  key: string;
  type: WriteContext['operation'];
  /** The record's column values after the write (before it, for `destroyed`), JSON-safe. */
  payload: RecordPayload;
  /** Deliveries started so far, this one included. */
  attempts: number;
  createdAt: Date;
  /** The payload as an instance of the model (not persisted). */
  record<T = unknown>(): T;
}
