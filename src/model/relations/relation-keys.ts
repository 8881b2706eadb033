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

/** The distinct non-null values of `property` over `records`, first occurrence kept, in the type of `target`. */
export function distinctKeys(records: readonly object[], property: string, integer: boolean, target: ColumnMeta): unknown[] {
  const seen = new Set<KeyValue>();
  const keys: unknown[] = [];
  for (const record of records) {
    const value = (record as Record<string, unknown>)[property];
    const key = matchKey(value, integer, property);
    if (key === undefined || seen.has(key)) continue;
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
