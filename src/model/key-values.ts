const INTEGER_TEXT = /^-?\d+$/;

/**
 * One key value as text tagged with its kind, equal for keys that are equal by value
 * across drivers: a bigint equals the number of the same integer (a PostgreSQL bigint id
 * matches a SQLite integer), a Date its instant, and a numeric string its number where
 * `integerColumn` says the column holds integers. Undefined for null and undefined, which
 * match nothing (SQL's NULL = NULL is not true). A value with nothing to compare by (an
 * object, a function) is refused with the error `refuse` makes, so each caller names its own.
 */
export function keyText(value: unknown, integerColumn: boolean, refuse: (description: string) => Error): string | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? `n${BigInt(value)}` : `n${value}`;
    case 'bigint':
      return `n${value}`;
    case 'string':
      return integerColumn && INTEGER_TEXT.test(value) ? `n${BigInt(value)}` : `s${value}`;
    case 'boolean':
      return value ? 'b1' : 'b0';
    case 'undefined':
      return undefined;
    default:
      if (value === null) return undefined;
      if (value instanceof Date) return `d${value.getTime()}`;
      if (value instanceof Uint8Array) return `x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
      throw refuse(Object.prototype.toString.call(value));
  }
}
