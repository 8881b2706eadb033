import { decoders } from '../connection/column-codecs.js';
import { CONNECTION } from '../model/hydration.js';
import type { ModelMeta } from '../model/metadata.js';

/** A record's state as JSON: every set column, with types that survive JSON (dates as ISO text, bigints and JSON values as text). */
export type RecordPayload = Record<string, unknown>;

/** Serializes the column values of an instance for an outbox row. */
export function toPayload(meta: ModelMeta, instance: object): RecordPayload {
  const out: RecordPayload = {};
  for (const column of meta.columns) {
    const value = (instance as Record<string, unknown>)[column.property];
    if (value === undefined) continue;
    if (value === null) out[column.property] = null;
    else if (column.type === 'json') out[column.property] = JSON.stringify(value);
    else if (value instanceof Date) out[column.property] = value.toISOString();
    else if (typeof value === 'bigint') out[column.property] = value.toString();
    else out[column.property] = value;
  }
  return out;
}

/** Rebuilds an instance (not persisted, not bound to a connection) from an outbox payload. */
export function fromPayload(meta: ModelMeta, payload: RecordPayload): object {
  const instance = new (meta.ctor as new () => Record<string | symbol, unknown>)();
  for (const column of meta.columns) {
    if (!(column.property in payload)) continue;
    const value = payload[column.property];
    instance[column.property] = value === null ? null : decoders[column.type](value);
  }
  instance[CONNECTION] = undefined;
  return instance;
}
