import { describe, expect, it } from 'vitest';
import { decodeWatermark, encodeWatermark } from '../src/sync/sync-state-codec.js';

describe('checkpoint watermark codec', () => {
  const at = new Date('2026-01-02T03:04:05.678Z');

  it('stores a date with the database text of it, and reads both back', () => {
    const text = encodeWatermark({ value: at, exact: '2026-01-02 03:04:05.678912+00' }, 'w');
    expect(text).toBe('datetext:2026-01-02T03:04:05.678Z|2026-01-02 03:04:05.678912+00');
    expect(decodeWatermark(text)).toEqual({ value: at, exact: '2026-01-02 03:04:05.678912+00' });
    // Whatever the database's text holds, a '|' included, comes back as it was.
    expect(decodeWatermark(encodeWatermark({ value: at, exact: 'a|b c' }, 'w')).exact).toBe('a|b c');
  });

  it('still reads the forms without a database text (checkpoints written before it), and writes them for non-dates', () => {
    expect(decodeWatermark('date:2026-01-02T03:04:05.678Z')).toEqual({ value: at, exact: undefined });
    expect(encodeWatermark({ value: 42, exact: undefined }, 'w')).toBe('number:42');
    expect(decodeWatermark('bigint:9007199254740993')).toEqual({ value: 9007199254740993n, exact: undefined });
  });

  it('refuses a damaged text, and an exact text on anything but a Date', () => {
    expect(() => decodeWatermark('datetext:2026-01-02T03:04:05.678Z')).toThrow(/unreadable checkpoint value/);
    expect(() => decodeWatermark('datetext:yesterday|2026-01-02')).toThrow(/unreadable checkpoint value/);
    expect(() => encodeWatermark({ value: 42, exact: '42' }, 'the watermark')).toThrow(/the watermark has an exact text but is not a Date/);
  });
});
