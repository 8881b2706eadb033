import { QueryBuilderError, ValidationError } from '../errors.js';
import type { ResolvedType } from '../connection/column-codecs.js';
import type { ColumnMeta } from './metadata.js';

/**
 * The dates every dialect stores, reads back and compares exactly: MySQL's documented
 * DATETIME range (years 1000 to 9999). MariaDB reads years 1–99 back as 19xx, and SQLite
 * compares dates as text, which orders correctly only with four-digit years.
 */
const MIN_TIME = Date.UTC(1000, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const MIN_BIGINT = -(2n ** 63n);
const MAX_BIGINT = 2n ** 63n - 1n;

const INTEGER_TEXT = /^[-+]?\d+$/;
const NUMBER_TEXT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
/** ISO-8601 dates and date-times (with `T` or a space, optional seconds, fraction and zone). */
const ISO_DATE_TEXT = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
/** Beyond this depth a JSON value is refused whatever the dialect (and a cycle ends here). */
const JSON_WALK_LIMIT = 10_000;

const EXPECTED: Record<ResolvedType, string> = {
  string: 'a string',
  integer: 'an integer (or an integer string)',
  bigint: 'a bigint, a safe integer or an integer string',
  float: 'a finite number (or a numeric string)',
  boolean: 'a boolean',
  date: 'a valid Date or an ISO-8601 date string',
  datetime: 'a valid Date or an ISO-8601 date-time string',
  json: 'a JSON-serialisable value',
  any: 'any value',
};

/**
 * The value a column holds in memory for what a caller passed, checked against the
 * column's type: exactly what reading the row back gives (`'42'` becomes `42` in an
 * integer column, a safe integer becomes a `bigint` in a bigint column, a `date` keeps
 * its UTC day only). Every write path (create, save, query update, bulk rows) and every
 * where value goes through here, so a wrong value is refused with a
 * {@link ValidationError} before any SQL is sent. `null` and `undefined` pass unchanged.
 */
export function columnValue(model: string, column: Pick<ColumnMeta, 'property' | 'type'>, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  // The values nearly every write carries need no conversion: answer them without more work.
  switch (column.type) {
    case 'string':
      if (typeof value === 'string') return value;
      break;
    case 'integer':
      if (Number.isInteger(value)) return value;
      break;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      break;
    case 'datetime':
      if (value instanceof Date && inRange(value.getTime())) return value;
      break;
    case 'any':
      return value;
  }
  return convert(model, column, value);
}

function inRange(time: number): boolean {
  return time >= MIN_TIME && time <= MAX_TIME;
}

function refusal(model: string, column: Pick<ColumnMeta, 'property' | 'type'>, value: unknown, detail: string | undefined): ValidationError {
  return new ValidationError(`expected ${EXPECTED[column.type]}, got ${describe(value)}${detail ? ` (${detail})` : ''}`, column.property, { model, expected: column.type, received: kindOf(value) });
}

function convert(model: string, column: Pick<ColumnMeta, 'property' | 'type'>, value: unknown): unknown {
  // Built only when a value is refused: this runs for every value written.
  const refuse = (detail?: string) => refusal(model, column, value, detail);
  switch (column.type) {
    case 'string':
      if (typeof value === 'string') return value;
      throw refuse();
    case 'integer':
      if (typeof value === 'number') {
        if (Number.isInteger(value)) return value;
        throw refuse();
      }
      if (typeof value === 'string' && INTEGER_TEXT.test(value.trim())) {
        const n = Number(value);
        if (Number.isSafeInteger(n)) return n;
        throw refuse('beyond 2^53; use a bigint column');
      }
      if (typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
      throw refuse();
    case 'float':
      if (typeof value === 'number') {
        if (Number.isFinite(value)) return value;
        throw refuse();
      }
      if (typeof value === 'string' && NUMBER_TEXT.test(value.trim())) return Number(value);
      throw refuse();
    case 'bigint': {
      let n: bigint;
      if (typeof value === 'bigint') n = value;
      else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
      else if (typeof value === 'string' && INTEGER_TEXT.test(value.trim())) n = BigInt(value.trim());
      else throw refuse(typeof value === 'number' && Number.isInteger(value) ? 'beyond 2^53 a number has already lost digits; pass a bigint or a string' : undefined);
      if (n < MIN_BIGINT || n > MAX_BIGINT) throw refuse('outside the 64-bit range');
      return n;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      throw refuse();
    case 'date':
    case 'datetime':
      return dateValue(column, value, refuse);
    case 'json':
      return jsonValue(value, refuse);
    default:
      return value;
  }
}

function dateValue(column: Pick<ColumnMeta, 'type'>, value: unknown, refuse: (detail?: string) => ValidationError): Date {
  let date: Date;
  if (value instanceof Date) date = value;
  else if (typeof value === 'string' && ISO_DATE_TEXT.test(value)) {
    // A zone-less date-time is UTC wall time, as every dialect stores it.
    const text = value.length > 10 && !/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? `${value.replace(' ', 'T')}Z` : value;
    date = new Date(text);
  } else throw refuse();
  const time = date.getTime();
  if (Number.isNaN(time)) throw refuse('an invalid date');
  if (time < MIN_TIME || time > MAX_TIME) throw refuse(`outside the supported range, ${new Date(MIN_TIME).toISOString()} to ${new Date(MAX_TIME).toISOString()}`);
  if (column.type === 'date') {
    // A date column keeps the UTC day: hold the UTC midnight the database gives back.
    const midnight = time - (((time % 86_400_000) + 86_400_000) % 86_400_000);
    return midnight === time && value instanceof Date ? value : new Date(midnight);
  }
  return value instanceof Date ? value : date;
}

/**
 * Checks that `value` survives JSON unchanged. What JSON cannot carry (a bigint, a
 * function, a symbol, a Map or Set, a cycle) is refused; what it changes on the way (a Date
 * becomes text, `undefined` members vanish, `NaN` becomes null) is normalised, so the
 * record holds what the database returns.
 */
function jsonValue(value: unknown, refuse: (detail?: string) => ValidationError): unknown {
  let normalise = false;
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    switch (typeof item) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(item)) normalise = true;
        continue;
      case 'bigint':
        throw refuse('a bigint inside JSON; store it as a string');
      case 'undefined':
        normalise = true;
        continue;
      case 'function':
      case 'symbol':
        throw refuse(`a ${typeof item} inside JSON`);
    }
    if (item === null) continue;
    if (depth >= JSON_WALK_LIMIT) throw refuse(`nested more than ${JSON_WALK_LIMIT} levels deep, or circular`);
    if (item instanceof Map || item instanceof Set) throw refuse(`a ${item instanceof Map ? 'Map' : 'Set'} inside JSON; convert it to an object or array`);
    // A Date (or anything with toJSON) is written as what toJSON returns.
    if (typeof (item as { toJSON?: unknown }).toJSON === 'function') {
      normalise = true;
      continue;
    }
    // A class instance is written as its own enumerable members, like a plain object.
    if (Object.getPrototypeOf(item) !== (Array.isArray(item) ? Array.prototype : Object.prototype)) normalise = true;
    for (const child of Array.isArray(item) ? item : Object.values(item as object)) pending.push([child, depth + 1]);
  }
  if (!normalise) return value;
  const text = JSON.stringify(value);
  return text === undefined ? null : JSON.parse(text);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'Date';
  return typeof value;
}

function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number':
    case 'boolean':
      return `the ${typeof value} ${String(value)}`;
    case 'bigint':
      return `the bigint ${value}n`;
    default:
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : `the Date ${value.toISOString()}`;
      return `${/^[aeiou]/.test(kindOf(value)) ? 'an' : 'a'} ${kindOf(value)}`;
  }
}

/**
 * The step of `increment()` / `decrement()` (`down`) on `column`: numeric columns only,
 * checked like any value before it is negated.
 */
export function counterStep(model: string, column: Pick<ColumnMeta, 'property' | 'type'>, by: unknown, down: boolean): number | bigint {
  if (column.type !== 'integer' && column.type !== 'bigint' && column.type !== 'float') {
    throw new QueryBuilderError(`${model}.${column.property} is a ${column.type} column; ${down ? 'decrement' : 'increment'}() takes integer, bigint or float columns`);
  }
  const step = columnValue(model, column, by) as number | bigint;
  return down ? -step : step;
}
