import type { ColumnType, ResolvedType } from '../connection/column-codecs.js';

export const COLUMN_TYPES: readonly ColumnType[] = ['string', 'integer', 'bigint', 'float', 'boolean', 'date', 'datetime', 'json'];

/** Maps compiler-emitted `design:type` constructors to column types, when present. */
export function inferType(designType: unknown): ResolvedType {
  switch (designType) {
    case String:
      return 'string';
    case Number:
      return 'float';
    case Boolean:
      return 'boolean';
    case Date:
      return 'datetime';
    case BigInt:
      return 'bigint';
    // `string | null`, unions and unannotated fields all emit Object: too vague to guess.
    case Array:
      return 'json';
    default:
      return 'any';
  }
}

/**
 * Whether two JS values of a column are the same for change tracking. Dates compare
 * by instant, JSON by serialization, bigints by value.
 */
export function sameValue(type: ResolvedType, a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (type === 'json' || (typeof a === 'object' && typeof b === 'object')) return JSON.stringify(a) === JSON.stringify(b);
  return false;
}
