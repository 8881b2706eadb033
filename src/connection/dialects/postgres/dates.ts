import pg from 'pg';

const OID_TIMESTAMPTZ = 1184;
/** pg's own reader of TIMESTAMPTZ text (the postgres-date package), for every form the fast path leaves alone. */
const parseDefault = pg.types.getTypeParser(OID_TIMESTAMPTZ, 'text') as (text: string) => Date | number | null;

const POWERS = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

/**
 * Reads PostgreSQL's ISO text of a timestamp, `YYYY-MM-DD HH:MM:SS[.f…][±HH[:MM]]`, digit by
 * digit: a regular expression per value (pg's own reader) is most of the time a server read
 * of many rows spends on its dates. Gives exactly what pg's reader gives (milliseconds
 * truncated from the same floating-point fraction; an offset applied to UTC); any other
 * form (`infinity`, BC, a year outside 100–9999, seconds in the offset) goes to `fallback`.
 * Text without an offset is `noZone` (UTC for TIMESTAMP, which polyrecord writes as UTC).
 */
export function readTimestamp(text: string, fallback: (text: string) => Date | number | null): Date | number | null {
  const n = text.length;
  if (n < 19 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 32 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return fallback(text);
  const y0 = text.charCodeAt(0) - 48, y1 = text.charCodeAt(1) - 48, y2 = text.charCodeAt(2) - 48, y3 = text.charCodeAt(3) - 48;
  const mo0 = text.charCodeAt(5) - 48, mo1 = text.charCodeAt(6) - 48, d0 = text.charCodeAt(8) - 48, d1 = text.charCodeAt(9) - 48;
  const h0 = text.charCodeAt(11) - 48, h1 = text.charCodeAt(12) - 48, mi0 = text.charCodeAt(14) - 48, mi1 = text.charCodeAt(15) - 48;
  const s0 = text.charCodeAt(17) - 48, s1 = text.charCodeAt(18) - 48;
  if ((y0 | y1 | y2 | y3 | mo0 | mo1 | d0 | d1 | h0 | h1 | mi0 | mi1 | s0 | s1) < 0) return fallback(text);
  if (y0 > 9 || y1 > 9 || y2 > 9 || y3 > 9 || mo0 > 9 || mo1 > 9 || d0 > 9 || d1 > 9 || h0 > 9 || h1 > 9 || mi0 > 9 || mi1 > 9 || s0 > 9 || s1 > 9) return fallback(text);
  const year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
  // Date.UTC reads years 0–99 as 1900–1999: pg's reader corrects that; leave it those.
  if (year < 100) return fallback(text);
  let i = 19;
  let fraction = 0;
  let digits = 0;
  if (i < n && text.charCodeAt(i) === 46) {
    for (i++; i < n; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      if (digits === 6) return fallback(text);
      fraction = fraction * 10 + d;
      digits++;
    }
    if (digits === 0) return fallback(text);
  }
  let offsetMs = 0;
  if (i < n) {
    const sign = text.charCodeAt(i);
    if ((sign !== 43 && sign !== 45) || (n - i !== 3 && n - i !== 6)) return fallback(text);
    const oh0 = text.charCodeAt(i + 1) - 48, oh1 = text.charCodeAt(i + 2) - 48;
    let minutes = 0;
    if (n - i === 6) {
      const om0 = text.charCodeAt(i + 4) - 48, om1 = text.charCodeAt(i + 5) - 48;
      if (text.charCodeAt(i + 3) !== 58 || om0 < 0 || om0 > 9 || om1 < 0 || om1 > 9) return fallback(text);
      minutes = om0 * 10 + om1;
    }
    if (oh0 < 0 || oh0 > 9 || oh1 < 0 || oh1 > 9) return fallback(text);
    offsetMs = ((oh0 * 10 + oh1) * 3_600 + minutes * 60) * 1_000 * (sign === 45 ? -1 : 1);
  }
  // The same float pg's reader makes (1000 * parseFloat('.fff')): the quotient of two exact integers rounds to it.
  const ms = digits === 0 ? 0 : 1_000 * (fraction / POWERS[digits]!);
  const time = Date.UTC(year, mo0 * 10 + mo1 - 1, d0 * 10 + d1, h0 * 10 + h1, mi0 * 10 + mi1, s0 * 10 + s1, ms);
  return new Date(time - offsetMs);
}

/** TIMESTAMPTZ text → Date, as pg reads it, faster. */
export const parseTimestamptz = (text: string): Date | number | null => readTimestamp(text, parseDefault);

/** TIMESTAMP (without time zone) text → Date, read as UTC wall time (how polyrecord writes it). */
export const parseUtcTimestamp = (text: string): Date | number | null => readTimestamp(text, (other) => new Date(`${other.replace(' ', 'T')}Z`));
