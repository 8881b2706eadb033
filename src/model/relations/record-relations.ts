import { ORIGINAL, SnapshotRows } from '../hydration.js';
import type { ModelMeta } from '../metadata.js';

/** `withCount` results. */
export const COUNTS = Symbol('polyrecord.counts');
/** The pivot row's values of a record loaded through a many-to-many relation. */
export const PIVOT = Symbol('polyrecord.pivot');

export interface RelationSlots {
  [COUNTS]?: Record<string, number>;
  [PIVOT]?: Record<string, unknown>;
}

type Instance = RelationSlots & Record<string, unknown>;

/**
 * Sets a loaded relation on a record: an own property, assigned after construction, so a
 * declared class field never shadows it. A loaded relation is never `undefined` (an array,
 * a record or null), which is how `toJSON()` tells it from one that was not loaded: no
 * bookkeeping per record.
 */
export function setRelation(record: object, name: string, value: unknown): void {
  (record as Instance)[name] = value;
}

export function setCount(record: object, name: string, count: number): void {
  ((record as Instance)[COUNTS] ??= {})[name] = count;
}

/** Adds the loaded relations (recursively), `$counts` and `$pivot` of a record to its JSON form. */
export function serializeRelations(meta: ModelMeta, record: object, out: Record<string, unknown>): void {
  const instance = record as Instance;
  for (const name of meta.relations.keys()) {
    const value = instance[name];
    if (value !== undefined) out[name] = toJSONValue(value);
  }
  if (instance[COUNTS]) out.$counts = { ...instance[COUNTS] };
  if (instance[PIVOT]) out.$pivot = toJSONValue(instance[PIVOT]);
}

function toJSONValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toJSONValue);
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') return (value as { toJSON(): unknown }).toJSON();
  if (typeof value === 'bigint') return value.toString();
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJSONValue(v)]));
  return value;
}

/**
 * A copy of a record for one more place in a loaded graph (a track in two playlists,
 * each with its own `$pivot`): same class, values and connection, its own snapshot.
 */
export function cloneRecord<T extends object>(record: T): T {
  const copy = Object.create(Object.getPrototypeOf(record)) as Record<string | symbol, unknown>;
  for (const key of Reflect.ownKeys(record)) {
    const value = (record as Record<string | symbol, unknown>)[key];
    // A shared snapshot never changes and is shared by the copy too; a keyed one is the record's own.
    copy[key] = key === ORIGINAL && value && !(value instanceof SnapshotRows) ? { ...(value as object) } : value;
  }
  return copy as T;
}
