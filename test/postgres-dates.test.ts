import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { parseTimestamptz, parseUtcTimestamp } from '../src/connection/dialects/postgres/dates.js';

const pgReader = pg.types.getTypeParser(1184, 'text') as (text: string) => Date | number | null;
const same = (value: Date | number | null) => (value instanceof Date ? `date:${value.getTime()}` : `other:${String(value)}`);

/** PostgreSQL's ISO text of an instant, with `digits` fraction digits and an offset of `offsetMinutes`. */
function pgText(time: number, digits: number, micro: number, offsetMinutes: number): string {
  const local = new Date(time + offsetMinutes * 60_000).toISOString();
  const fraction = digits === 0 ? '' : `.${(local.slice(20, 23) + String(micro).padStart(3, '0')).slice(0, digits)}`;
  const abs = Math.abs(offsetMinutes);
  const zone = `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${abs % 60 ? `:${String(abs % 60).padStart(2, '0')}` : ''}`;
  return `${local.slice(0, 10)} ${local.slice(11, 19)}${fraction}${zone}`;
}

describe("reading PostgreSQL's timestamp text", () => {
  it('gives exactly what pg gives for TIMESTAMPTZ, on 20,000 random instants with 0–6 fraction digits and offsets', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 20_000; i++) {
      const time = Math.floor(random() * 8e12) - 1e12; // 1938–2223
      const text = pgText(time, Math.floor(random() * 7), Math.floor(random() * 1000), [0, 0, 60, -300, 330, -570, 845][Math.floor(random() * 7)]!);
      expect(same(parseTimestamptz(text)), text).toBe(same(pgReader(text)));
    }
  });

  it('hands every other form to pg and agrees with it there', () => {
    for (const text of ['infinity', '-infinity', '0044-03-15 12:00:00+00', '0044-03-15 12:00:00+00 BC', '12345-01-01 00:00:00+00', '2024-02-29 23:59:59.999999+14', '2024-01-01 00:00:00+05:30:15', '2024-01-01 00:00:00.1234567+00', '2024-01-01 00:00:00.+00', '2024-01-01T00:00:00Z']) {
      expect(same(parseTimestamptz(text)), text).toBe(same(pgReader(text)));
    }
  });

  it('reads TIMESTAMP without a zone as UTC wall time, as before', () => {
    for (const text of ['2024-01-01 00:00:00', '2024-06-30 12:34:56.7', '1999-12-31 23:59:59.999999', '2024-02-29 08:00:00.123', '0099-01-01 00:00:00']) {
      expect(same(parseUtcTimestamp(text)), text).toBe(same(new Date(`${text.replace(' ', 'T')}Z`)));
    }
  });
});
