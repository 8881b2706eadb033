import type { ContenderName } from '../options.js';
import type { BenchTarget } from '../targets.js';
import type { Contender } from './contender.js';
import { openKnex } from './knex.js';
import { openPolyrecord } from './polyrecord.js';
import { openPrepared, openRaw } from './raw.js';

export type { Contender } from './contender.js';
export { RAW_PREPARES } from './raw.js';

const OPENERS: Record<ContenderName, (target: BenchTarget) => Contender | undefined> = {
  raw: openRaw,
  prepared: openPrepared,
  knex: openKnex,
  polyrecord: openPolyrecord,
};

/**
 * Opens the named contenders on the target, in the given order (the table must exist).
 * `prepared` is left out where `raw` already prepares (see {@link RAW_PREPARES}).
 */
export function openContenders(target: BenchTarget, names: readonly ContenderName[]): Contender[] {
  return names.map((name) => OPENERS[name](target)).filter((c): c is Contender => c !== undefined);
}
