import type { KeyValue } from '../key-values.js';
import { matchKey } from './relation-keys.js';

type Instance = Record<string, unknown>;

/** Related records grouped by the key they point at, each group in the records' order. */
export interface KeyGroups<T> {
  /** The records whose key equals `key` (compared by value, see `matchKey`), or undefined for none. */
  get(key: KeyValue): T[] | undefined;
}

/** Keys are indexed by position while their range spans fewer than `DENSE_SPREAD` slots per key plus `DENSE_SLACK`. */
const DENSE_SPREAD = 4;
const DENSE_SLACK = 1_024;
/**
 * At this many records per key on average or fewer, groups are counted first and allocated at
 * their exact length: a list grown by push holds room for 17 records, mostly empty when
 * groups are short, and loaded records keep their lists as long as they live. With longer
 * groups the extra pass costs more than the room it saves.
 */
const EXACT_BELOW = 4;

/**
 * Groups `records` by the value of `property`, for the keys asked for (`keys`, distinct,
 * as read from the other side). Integer keys that lie close together, as ids usually do,
 * are looked up by position in a typed array instead of a `Map`: a hash table of tens of
 * thousands of keys costs a cache miss or two per record (a three-level preload spent a
 * fifth of its time there). Other keys go through a `Map`.
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

/** Close integer keys by position: key k's group g is at `slotAt[k - min]` as g + 1 (0: none). */
class DenseIndex {
  readonly #slotAt: Int32Array;
  readonly #min: number;
  readonly #max: number;

  constructor(wanted: readonly number[], min: number, max: number) {
    this.#slotAt = new Int32Array(max - min + 1);
    this.#min = min;
    this.#max = max;
    for (let g = 0; g < wanted.length; g++) this.#slotAt[wanted[g]! - min] = g + 1;
  }

  /** The group of `key`, plus one (0: not a key asked for). */
  slot(key: KeyValue | undefined): number {
    return typeof key !== 'number' || key < this.#min || key > this.#max ? 0 : this.#slotAt[key - this.#min]!;
  }
}

function denseGroups<T extends Instance>(records: readonly T[], property: string, integer: boolean, wanted: readonly number[], min: number, max: number): KeyGroups<T> {
  const index = new DenseIndex(wanted, min, max);
  const slots = records.map((record) => index.slot(matchKey(record[property], integer, property)));
  const lists = records.length > EXACT_BELOW * wanted.length ? pushedLists(records, slots, wanted.length) : exactLists(records, slots, wanted.length);
  return {
    get(key) {
      const slot = index.slot(key);
      return slot === 0 ? undefined : lists[slot - 1];
    },
  };
}

/** Record i into group `slots[i] - 1`, lists grown by push. */
function pushedLists<T>(records: readonly T[], slots: readonly number[], groups: number): (T[] | undefined)[] {
  const lists = new Array<T[] | undefined>(groups);
  for (let i = 0; i < records.length; i++) {
    const slot = slots[i]!;
    if (slot === 0) continue;
    const list = lists[slot - 1];
    if (list === undefined) lists[slot - 1] = [records[i]!];
    else list.push(records[i]!);
  }
  return lists;
}

/** The same, each group counted first and allocated at its exact length. */
function exactLists<T>(records: readonly T[], slots: readonly number[], groups: number): (T[] | undefined)[] {
  const sizes = new Int32Array(groups);
  for (const slot of slots) if (slot !== 0) sizes[slot - 1]!++;
  const lists = new Array<T[] | undefined>(groups);
  for (let g = 0; g < groups; g++) if (sizes[g] !== 0) lists[g] = new Array<T>(sizes[g]!);
  // Filled from the end, so each group keeps the records' order.
  for (let i = records.length - 1; i >= 0; i--) {
    const slot = slots[i]!;
    if (slot !== 0) lists[slot - 1]![--sizes[slot - 1]!] = records[i]!;
  }
  return lists;
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
