import type { KeyValue } from '../key-values.js';
import { matchKey } from './relation-keys.js';

type Instance = Record<string, unknown>;

/** Related records grouped by the key they point at, each group in the records' order. */
export interface KeyGroups<T> {
  /** The records whose key equals `key` (compared by value, see `matchKey`), or undefined for none. */
  get(key: KeyValue): T[] | undefined;
}

/** Widest key range, per key asked for, that is indexed by position instead of hashing. */
const DENSE_SPREAD = 4;
const DENSE_SLACK = 1_024;

/**
 * Groups `records` by the value of `property`, for the keys asked for (`keys`, distinct,
 * as read from the other side). Integer keys that lie close together, as ids usually do,
 * are looked up by position in a typed array instead of a `Map`: a hash table of tens of
 * thousands of keys costs a cache miss or two per record (a three-level preload spent a
 * fifth of its time there). Other keys go through a `Map`. (Counting first to allocate
 * every group at its exact length was tried: slower on ten records per key.)
 */
export function groupByKey<T extends Instance>(records: readonly T[], property: string, integer: boolean, keys: readonly unknown[]): KeyGroups<T> {
  const wanted = keys.map((key) => matchKey(key, integer, property));
  let min = Infinity;
  let max = -Infinity;
  for (const key of wanted) {
    if (typeof key !== 'number') return hashedGroups(records, property, integer);
    if (key < min) min = key;
    if (key > max) max = key;
  }
  if (wanted.length === 0 || max - min >= DENSE_SPREAD * wanted.length + DENSE_SLACK) return hashedGroups(records, property, integer);
  return denseGroups(records, property, integer, wanted as number[], min, max);
}

function denseGroups<T extends Instance>(records: readonly T[], property: string, integer: boolean, wanted: readonly number[], min: number, max: number): KeyGroups<T> {
  // Group g's key k is at slotAt[k - min] as g + 1 (0: no such key).
  const slotAt = new Int32Array(max - min + 1);
  for (let g = 0; g < wanted.length; g++) slotAt[wanted[g]! - min] = g + 1;
  const lists = new Array<T[] | undefined>(wanted.length);
  for (let i = 0; i < records.length; i++) {
    const key = matchKey(records[i]![property], integer, property);
    if (typeof key !== 'number' || key < min || key > max) continue;
    const slot = slotAt[key - min]!;
    if (slot === 0) continue;
    const list = lists[slot - 1];
    if (list === undefined) lists[slot - 1] = [records[i]!];
    else list.push(records[i]!);
  }
  return {
    get(key) {
      if (typeof key !== 'number' || key < min || key > max) return undefined;
      const slot = slotAt[key - min]!;
      return slot === 0 ? undefined : lists[slot - 1];
    },
  };
}

function hashedGroups<T extends Instance>(records: readonly T[], property: string, integer: boolean): KeyGroups<T> {
  const map = new Map<KeyValue, T[]>();
  for (const record of records) {
    const key = matchKey(record[property], integer, property);
    if (key === undefined) continue;
    const list = map.get(key);
    if (list) list.push(record);
    else map.set(key, [record]);
  }
  return map;
}
