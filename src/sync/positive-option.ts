import { ConfigError } from '../errors.js';

/** An optional positive-integer option: `fallback` when not given, a ConfigError naming `field` when not a positive integer. */
export function positiveOption(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ConfigError(field, `must be a positive integer (got ${String(value)})`);
  return value;
}
