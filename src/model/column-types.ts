import type { ValueCodec } from '../connection/dialects/dialect.js';
import { ValidationError } from '../errors.js';

/**
 * Declared column types. Every dialect returns each type as the same JS type:
 *
 * | type       | JS value            | stored as (SQLite / PostgreSQL / MySQL)           |
 * |------------|---------------------|---------------------------------------------------|
 * | `string`   | `string`            | text                                              |
 * | `integer`  | `number`            | integer                                           |
 * | `bigint`   | `bigint`            | 64-bit integer, never rounded                     |
 * | `float`    | `number`            | real / double / decimal                           |
 * | `boolean`  | `boolean`           | 0/1 / boolean / TINYINT(1)                        |
 * | `date`     | `Date` (UTC midnight) | `YYYY-MM-DD` / date / DATE                      |
 * | `datetime` | `Date`              | ISO-8601 text / timestamp(tz) / DATETIME (UTC)    |
 * | `json`     | parsed JSON value   | text / json(b) / JSON                             |
 */
export type ColumnType = 'string' | 'integer' | 'bigint' | 'float' | 'boolean' | 'date' | 'datetime' | 'json';

/** Internal: `any` means the type is unknown and values pass through as the driver returns them. */
export type ResolvedType = ColumnType | 'any';

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

const NAIVE_DATETIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * The instant of `YYYY-MM-DDTHH:MM:SS.sssZ` (what `toISOString()` writes and SQLite
 * stores), read digit by digit: about twice as fast as `new Date(text)` once optimised,
 * which matters when thousands of rows are read. Written flat, without helper calls,
 * because before the JIT has optimised it (the first thousands of rows a process reads)
 * every call costs as much as the arithmetic. Undefined for any other text, and for
 * fields out of range (a day above 28, where months differ; a year below 100), which
 * `new Date(text)` then judges.
 */
export function isoInstant(t: string): number | undefined {
  if (t.length !== 24 || t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45 || t.charCodeAt(10) !== 84 || t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58 || t.charCodeAt(19) !== 46) return undefined;
  const y0 = t.charCodeAt(0) - 48, y1 = t.charCodeAt(1) - 48, y2 = t.charCodeAt(2) - 48, y3 = t.charCodeAt(3) - 48;
  const mo0 = t.charCodeAt(5) - 48, mo1 = t.charCodeAt(6) - 48, d0 = t.charCodeAt(8) - 48, d1 = t.charCodeAt(9) - 48;
  const h0 = t.charCodeAt(11) - 48, h1 = t.charCodeAt(12) - 48, mi0 = t.charCodeAt(14) - 48, mi1 = t.charCodeAt(15) - 48;
  const s0 = t.charCodeAt(17) - 48, s1 = t.charCodeAt(18) - 48, ms0 = t.charCodeAt(20) - 48, ms1 = t.charCodeAt(21) - 48, ms2 = t.charCodeAt(22) - 48;
  // A character below '0' makes the OR negative; one above '9' is caught one by one.
  if ((y0 | y1 | y2 | y3 | mo0 | mo1 | d0 | d1 | h0 | h1 | mi0 | mi1 | s0 | s1 | ms0 | ms1 | ms2) < 0) return undefined;
  if (y0 > 9 || y1 > 9 || y2 > 9 || y3 > 9 || mo0 > 9 || mo1 > 9 || d0 > 9 || d1 > 9 || h0 > 9 || h1 > 9 || mi0 > 9 || mi1 > 9 || s0 > 9 || s1 > 9 || ms0 > 9 || ms1 > 9 || ms2 > 9) return undefined;
  const year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
  const month = mo0 * 10 + mo1;
  const day = d0 * 10 + d1;
  const hour = h0 * 10 + h1;
  const minute = mi0 * 10 + mi1;
  const second = s0 * 10 + s1;
  // Date.UTC reads years 0–99 as 1900–1999: leave those to `new Date`.
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > 28 || hour > 23 || minute > 59 || second > 59) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms0 * 100 + ms1 * 10 + ms2);
}

function toDate(value: unknown): Date {
  if (value instanceof Date) return new Date(value.getTime());
  if (typeof value === 'number') return new Date(value);
  if (typeof value === 'bigint') return new Date(Number(value));
  const text = String(value);
  // ISO-8601 with a zone (what SQLite stores) parses directly; test the cheap case first.
  if (text.charCodeAt(text.length - 1) === 90 /* Z */) {
    const instant = isoInstant(text);
    return new Date(instant ?? text);
  }
  // Zone-less text (MySQL DATETIME, PostgreSQL TIMESTAMP) was written as UTC wall time.
  if (NAIVE_DATETIME.test(text)) return new Date(`${text.replace(' ', 'T')}Z`);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return new Date(`${text}T00:00:00Z`);
  return new Date(text);
}

function toBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return value !== '0' && value !== '' && value !== 'f' && value !== 'false';
  if (value instanceof Uint8Array) return value.length > 0 && value[0] !== 0;
  return Boolean(value);
}

/** Database value → JS value, by declared type. `null` stays `null`. */
export const decoders: Record<ResolvedType, (value: unknown) => unknown> = {
  string: (value) => (value === null || typeof value === 'string' ? value : String(value)),
  integer: (value) => (value === null || typeof value === 'number' ? value : Number(value)),
  float: (value) => (value === null || typeof value === 'number' ? value : Number(value)),
  bigint: (value) => (value === null || typeof value === 'bigint' ? value : BigInt(value as string | number)),
  boolean: (value) => (value === null ? null : toBoolean(value)),
  date: (value) => (value === null ? null : toDate(value)),
  datetime: (value) => (value === null ? null : toDate(value)),
  json: (value) => (value === null ? null : typeof value === 'string' ? JSON.parse(value) : value),
  any: (value) => value,
};

/**
 * JS value → the value bound for the column on a dialect. The value has been through
 * `columnValue()` (every write and where path does that first), so it already has
 * the column's JS type. `undefined` binds as `null`.
 */
export function encodeValue(type: ResolvedType, value: unknown, codec: ValueCodec): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'boolean':
      return codec.boolean(value as boolean);
    case 'datetime':
      return codec.datetime(value as Date);
    case 'date':
      return codec.date(value as Date);
    case 'json':
      assertJsonDepth(value, codec.maxJsonDepth);
      return codec.json(value);
    case 'bigint':
      return codec.bigint(value as bigint);
    case 'any':
      return encodeUntyped(value, codec);
    default:
      return value;
  }
}

/**
 * Refuses JSON nested deeper than this database accepts, before any SQL. Walks without
 * recursion, so a pathological depth ends in this error, not a stack overflow.
 */
function assertJsonDepth(value: unknown, max: number): void {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > max) throw new ValidationError(`JSON nested more than ${max} arrays/objects deep; this database accepts at most ${max}`);
    for (const child of Array.isArray(item) ? item : Object.values(item)) pending.push([child, depth + 1]);
  }
}

function encodeUntyped(value: unknown, codec: ValueCodec): unknown {
  if (value instanceof Date) return codec.datetime(value);
  if (typeof value === 'boolean') return codec.boolean(value);
  if (typeof value === 'bigint') return codec.bigint(value);
  if (typeof value === 'object' && !(value instanceof Uint8Array)) return codec.json(value);
  return value;
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

/**
 * Encodes a binding of hand-written SQL: Dates, booleans, bigints and plain objects
 * as the dialect stores them; arrays are passed to the driver as arrays (PostgreSQL
 * array parameters), their items encoded.
 */
export function encodeRawBinding(value: unknown, codec: ValueCodec): unknown {
  if (Array.isArray(value)) return value.map((item) => encodeRawBinding(item, codec));
  return encodeValue('any', value, codec);
}
