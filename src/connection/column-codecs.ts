import { ValidationError } from '../errors.js';

// The value codecs sit in the connection layer, not in model/: code below the model layer
// reads and writes values too (the transaction and saga logs' own tables, the bindings of a
// transaction's raw `query()`), and must not import models to do it.

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

const NAIVE_DATETIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * Text that ends in `Z`: a UTC instant as `toISOString()` writes it (what SQLite stores),
 * which `new Date(text)` reads exactly. V8's own parser beats JavaScript written for the
 * format until a process has read some 20,000 values, and a lookup reads one.
 */
export function endsInZ(text: string): boolean {
  return text.charCodeAt(text.length - 1) === 90;
}

function toDate(value: unknown): Date {
  if (value instanceof Date) return new Date(value.getTime());
  if (typeof value === 'number') return new Date(value);
  if (typeof value === 'bigint') return new Date(Number(value));
  const text = String(value);
  // ISO-8601 in UTC (what SQLite stores) parses directly; test the cheap case first.
  if (endsInZ(text)) return new Date(text);
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
 * Encodes a binding of hand-written SQL: Dates, booleans, bigints and plain objects
 * as the dialect stores them; arrays are passed to the driver as arrays (PostgreSQL
 * array parameters), their items encoded.
 */
export function encodeRawBinding(value: unknown, codec: ValueCodec): unknown {
  if (Array.isArray(value)) return value.map((item) => encodeRawBinding(item, codec));
  return encodeValue('any', value, codec);
}

/** Turns JS values into what each database stores for a column type. */
export interface ValueCodec {
  /** Most arrays/objects nested in one another that a JSON column accepts (MariaDB refuses 32). */
  readonly maxJsonDepth: number;
  boolean(value: boolean): unknown;
  datetime(value: Date): unknown;
  date(value: Date): unknown;
  json(value: unknown): unknown;
  bigint(value: bigint): unknown;
}
