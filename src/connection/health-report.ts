import type { DriverName } from './config.js';

/** The answer of one health probe. */
export interface HealthReport {
  name: string;
  driver: DriverName;
  ok: boolean;
  /** Round trip of the probe, or how long it waited before giving up. */
  latencyMs: number;
  /** Why the probe failed; absent when `ok`. Never contains the password. */
  error?: string;
}
