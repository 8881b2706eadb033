const INTEGER_TEXT = /^-?\d+$/;

/** A key as compared: a number for an integer within ±2^53, else text tagged with its kind. */
export type KeyValue = string | number;

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** An integer as a key: the number itself where it is exact (no string to build per key), else its digits. */
function integerKey(value: bigint): KeyValue {
  return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : `n${value}`;
}

/**
 * One key value, equal (as a `Map` key) for keys that are equal by value across drivers: a
 * bigint equals the number of the same integer (a PostgreSQL bigint id matches a SQLite
 * integer), a Date its instant, and a numeric string its number where `integerColumn`
 * says the column holds integers. Integers within ±2^53 are their own number, so the
 * common key costs no allocation; everything else is text tagged with its kind. Undefined
 * for null and undefined, which match nothing (SQL's NULL = NULL is not true). A value
 * with nothing to compare by (an object, a function) is refused with the error `refuse`
 * makes for `property`, so each caller names its own (a function made once, not a closure
 * per key: keys are compared by the hundred thousand).
 */
export function keyValue(value: unknown, integerColumn: boolean, property: string, refuse: (property: string, description: string) => Error): KeyValue | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isSafeInteger(value) ? value : Number.isInteger(value) ? `n${BigInt(value)}` : `n${value}`;
    case 'bigint':
      return integerKey(value);
    case 'string':
      return integerColumn && INTEGER_TEXT.test(value) ? integerKey(BigInt(value)) : `s${value}`;
    case 'boolean':
      return value ? 'b1' : 'b0';
    case 'undefined':
      return undefined;
    default:
      if (value === null) return undefined;
      if (value instanceof Date) return `d${value.getTime()}`;
      if (value instanceof Uint8Array) return `x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
      throw refuse(property, Object.prototype.toString.call(value));
  }
}
