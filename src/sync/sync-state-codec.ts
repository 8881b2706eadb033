/**
 * A checkpoint position value (a watermark or a primary key) as stored in the
 * `polyrecord_sync_state` table: text with a type tag, so every value reads back as
 * the same JS type and value it was written as.
 *
 * | JS value | stored text                    |
 * |----------|--------------------------------|
 * | `Date`   | `date:2026-01-02T03:04:05.678Z` |
 * | `number` | `number:42`                    |
 * | `bigint` | `bigint:9007199254740993`      |
 * | `string` | `string:abc`                   |
 *
 * A date watermark is stored with the source database's own text of it as well, which
 * keeps what a Date drops (microseconds) and is what the next batch is compared with:
 * `datetext:2026-01-02T03:04:05.678Z|2026-01-02 03:04:05.678912+00`. Checkpoints written
 * before that form existed (`date:…`) still read, without that text.
 *
 * @module
 */

/** A value a checkpoint can hold. */
export type CheckpointValue = Date | number | bigint | string;

/** Serializes a watermark or key value; `what` names it in the error for anything else. */
export function encodeCheckpointValue(value: unknown, what: string): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError(`${what} is an invalid Date`);
    return `date:${value.toISOString()}`;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${what} is not a finite number (${value})`);
    // The shortest round-tripping decimal form: parses back to the same double.
    return `number:${String(value)}`;
  }
  if (typeof value === 'bigint') return `bigint:${value.toString()}`;
  if (typeof value === 'string') return `string:${value}`;
  throw new TypeError(`${what} must be a Date, number, bigint or string to be checkpointed, got ${value === null ? 'null' : typeof value}`);
}

/** Reads back what {@link encodeCheckpointValue} wrote. */
export function decodeCheckpointValue(text: string): CheckpointValue {
  const colon = text.indexOf(':');
  const tag = colon < 0 ? '' : text.slice(0, colon);
  const body = text.slice(colon + 1);
  switch (tag) {
    case 'date': {
      const date = new Date(body);
      if (Number.isNaN(date.getTime())) break;
      return date;
    }
    case 'number': {
      const number = Number(body);
      if (body.trim() === '' || !Number.isFinite(number)) break;
      return number;
    }
    case 'bigint':
      if (!/^-?\d+$/.test(body)) break;
      return BigInt(body);
    case 'string':
      return body;
  }
  throw new TypeError(`unreadable checkpoint value ${JSON.stringify(text.slice(0, 80))}`);
}

/** A watermark as stored: its JS value, and for a date the source database's exact text of it. */
export interface WatermarkValue {
  readonly value: CheckpointValue;
  /** The database's text of the value (full precision), bound back to compare on the server; undefined for non-dates and old checkpoints. */
  readonly exact: string | undefined;
}

/** Serializes a watermark: {@link encodeCheckpointValue}, or with its exact text (`datetext:`) for a Date that has one. */
export function encodeWatermark({ value, exact }: WatermarkValue, what: string): string {
  const encoded = encodeCheckpointValue(value, what);
  if (exact === undefined) return encoded;
  if (!(value instanceof Date)) throw new TypeError(`${what} has an exact text but is not a Date`);
  // The ISO form has no '|': the text after the first one is the exact text, whatever it holds.
  return `datetext:${value.toISOString()}|${exact}`;
}

/** Reads back what {@link encodeWatermark} wrote, and every form {@link encodeCheckpointValue} writes. */
export function decodeWatermark(text: string): WatermarkValue {
  if (!text.startsWith('datetext:')) return { value: decodeCheckpointValue(text), exact: undefined };
  const bar = text.indexOf('|');
  if (bar < 0) throw new TypeError(`unreadable checkpoint value ${JSON.stringify(text.slice(0, 80))}`);
  return { value: decodeCheckpointValue(`date:${text.slice('datetext:'.length, bar)}`), exact: text.slice(bar + 1) };
}

/** A stable identity for a tuple of values (conflict keys), for de-duplicating within a batch. */
export function tupleKey(values: readonly unknown[]): string {
  return values.map((v) => (v instanceof Date ? `d${v.getTime()}` : typeof v === 'bigint' ? `b${v}` : typeof v === 'number' ? `n${v}` : `s${String(v)}`)).join('\u0000');
}
