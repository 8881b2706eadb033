import { keyValue, type KeyValue } from '../model/key-values.js';
import { metaOf } from '../model/metadata.js';
import { CorrelateError } from './reading-errors.js';

/** A property of the left rows and the property of the right rows it must equal. */
export type KeyPair = readonly [left: string, right: string];

/** Reads a row's join key as a value that is equal (as a `Map` key) for equal keys, or undefined for a key with a null part (which matches nothing). */
export type KeyReader = (row: object) => KeyValue | undefined;

/**
 * The key readers of both sides. Values compare by value across types: a bigint equals
 * the number of the same integer (a PostgreSQL bigint id matches a SQLite integer), a
 * Date its instant. A numeric string equals its number only where both sides are model
 * instances whose key columns are integer or bigint (as the samples, the first row of
 * each side, show); anywhere else a string compares as a string.
 */
export function keyReaders(pairs: readonly KeyPair[], leftSample: object | undefined, rightSample: object | undefined): { left: KeyReader; right: KeyReader } {
  const integerKeys = pairs.map(([l, r]) => isIntegerColumn(leftSample, l) && isIntegerColumn(rightSample, r));
  return {
    left: reader(pairs.map((p) => p[0]), integerKeys),
    right: reader(pairs.map((p) => p[1]), integerKeys),
  };
}

function reader(properties: readonly string[], integerKeys: readonly boolean[]): KeyReader {
  if (properties.length === 1) {
    const [property] = properties as [string];
    const integer = integerKeys[0]!;
    return (row) => keyPart((row as Record<string, unknown>)[property], integer, property);
  }
  return (row) => {
    let key = '';
    for (let i = 0; i < properties.length; i++) {
      const value = keyPart((row as Record<string, unknown>)[properties[i]!], integerKeys[i]!, properties[i]!);
      if (value === undefined) return undefined;
      const part = typeof value === 'number' ? `n${value}` : value;
      // Length-prefixed, so no value can imitate a boundary between parts.
      key += `${part.length}:${part}`;
    }
    return key;
  };
}

/** One key value (see {@link keyValue}); undefined for null. */
function keyPart(value: unknown, integerColumn: boolean, property: string): KeyValue | undefined {
  return keyValue(value, integerColumn, property, refuseKey);
}

function refuseKey(property: string, kind: string): Error {
  return new CorrelateError(`key "${property}" holds ${kind}, which has no value to compare by (use a number, bigint, string, boolean, Date or Buffer)`);
}

/** Whether `property` of this row is a model column of an integer type. */
function isIntegerColumn(row: object | undefined, property: string): boolean {
  const ctor: unknown = row?.constructor;
  if (typeof ctor !== 'function') return false;
  const type = metaOf(ctor)?.byProperty.get(property)?.type;
  return type === 'integer' || type === 'bigint';
}
