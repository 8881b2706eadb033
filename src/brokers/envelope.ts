import type { OutboxEvent } from '../sync/outbox-relay.js';
import type { RecordPayload } from '../sync/payload.js';
import { EnvelopeError } from './broker-errors.js';

/** The envelope version this package writes and reads. */
export const ENVELOPE_SCHEMA_VERSION = 1;

/**
 * The JSON body of every message a broker publisher sends (docs/brokers.md#the-envelope),
 * readable from any language:
 *
 * - `id`: the event id as decimal text (the outbox row id), prefixed by `source:` when the
 *   publisher has a `source`; also the broker message id. Unique per outbox (per source).
 * - `model`, `key`: the model class name and the record's primary key as text.
 * - `kind`: `created`, `updated` or `destroyed`.
 * - `payload`: the record's column values by property name: bigint as decimal text, dates
 *   and datetimes as ISO-8601 UTC text with milliseconds, `json` columns as their JSON text,
 *   everything else as JSON has it; unset properties left out.
 * - `occurredAt`: when the change was written, ISO-8601 UTC with milliseconds.
 * - `schemaVersion`: 1. A reader refuses versions it does not know.
 */
export interface OutboxEnvelope {
  id: string;
  model: string;
  key: string;
  kind: 'created' | 'updated' | 'destroyed';
  payload: RecordPayload;
  occurredAt: string;
  schemaVersion: number;
}

/** The envelope of an outbox event. */
export function toEnvelope(event: OutboxEvent, source: string | undefined): OutboxEnvelope {
  return {
    id: source === undefined ? event.id : `${source}:${event.id}`,
    model: event.aggregate,
    key: event.key,
    kind: event.type,
    payload: event.payload,
    occurredAt: event.createdAt.toISOString(),
    schemaVersion: ENVELOPE_SCHEMA_VERSION,
  };
}

export function encodeEnvelope(envelope: OutboxEnvelope): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(envelope));
}

const KINDS = new Set(['created', 'updated', 'destroyed']);

/** Reads a message body, refusing anything that is not a version-1 envelope. */
export function decodeEnvelope(body: Uint8Array): OutboxEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new EnvelopeError('the message body is not JSON');
  }
  const e = parsed as Partial<OutboxEnvelope> | null;
  if (!e || typeof e !== 'object') throw new EnvelopeError('the message body is not a JSON object');
  if (e.schemaVersion !== ENVELOPE_SCHEMA_VERSION) throw new EnvelopeError(`unknown envelope schemaVersion ${String(e.schemaVersion)} (this reader knows ${ENVELOPE_SCHEMA_VERSION})`);
  for (const field of ['id', 'model', 'key', 'occurredAt'] as const) {
    if (typeof e[field] !== 'string' || e[field] === '') throw new EnvelopeError(`envelope field "${field}" must be a non-empty string`);
  }
  if (!KINDS.has(e.kind as string)) throw new EnvelopeError(`envelope kind "${String(e.kind)}" is not created, updated or destroyed`);
  if (!e.payload || typeof e.payload !== 'object' || Array.isArray(e.payload)) throw new EnvelopeError('envelope field "payload" must be an object');
  return e as OutboxEnvelope;
}
