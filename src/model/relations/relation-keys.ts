import { QueryBuilderError } from '../../errors.js';
import { keyValue, type KeyValue } from '../key-values.js';
import type { ColumnMeta } from '../metadata.js';

/** Whether a key column holds integers, so a numeric string read from it equals its number. */
export function integerKey(column: ColumnMeta): boolean {
  return column.type === 'integer' || column.type === 'bigint';
}

/**
 * A key compared by value: a PostgreSQL bigint equals the SQLite number of the same
 * integer, a numeric string its number where the columns hold integers. Undefined for
 * null, which matches nothing (as in SQL).
 */
export function matchKey(value: unknown, integer: boolean, property: string): KeyValue | undefined {
  return keyValue(value, integer, property, refuseKey);
}

function refuseKey(property: string, kind: string): Error {
  return new QueryBuilderError(`relation key "${property}" holds ${kind}, which has no value to compare by`);
}

/**
 * The distinct non-null values of `property` over `records`, first occurrence kept, in the
 * type of `target`. Keys read in ascending order (a query's primary keys, usually) are
 * distinct without hashing: the set of seen keys is built only once a key does not ascend.
 */
export function distinctKeys(records: readonly object[], property: string, integer: boolean, target: ColumnMeta): unknown[] {
  const keys: unknown[] = [];
  let seen: Set<KeyValue> | undefined;
  // The last key of the ascending run so far (a number or text key: they never compare as ascending with each other).
  let last: KeyValue | undefined;
  for (let i = 0; i < records.length; i++) {
    const value = (records[i] as Record<string, unknown>)[property];
    const key = matchKey(value, integer, property);
    if (key === undefined) continue;
    if (seen === undefined) {
      if (last === undefined || (typeof key === typeof last && key > last)) {
        last = key;
        keys.push(coerceKey(target, value));
        continue;
      }
      // Not ascending: from here on, keys are told apart by hashing (those of the run included).
      seen = new Set();
      for (let j = 0; j < i; j++) {
        const earlier = matchKey((records[j] as Record<string, unknown>)[property], integer, property);
        if (earlier !== undefined) seen.add(earlier);
      }
    }
    if (seen.has(key)) continue;
    seen.add(key);
    keys.push(coerceKey(target, value));
  }
  return keys;
}

/** A key value read from one model (or database) in the type of the column it is compared with there. */
export function coerceKey(column: ColumnMeta, value: unknown): unknown {
  switch (column.type) {
    case 'integer':
      return typeof value === 'bigint' || (typeof value === 'string' && value !== '') ? Number(value) : value;
    case 'bigint':
      return typeof value === 'number' || typeof value === 'string' ? BigInt(value) : value;
    case 'string':
      return typeof value === 'number' || typeof value === 'bigint' ? String(value) : value;
    default:
      return value;
  }
}

/** `list` in pieces of at most `size`. */
export function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
