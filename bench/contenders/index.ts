import type { ContenderName } from '../options.js';
import type { BenchTarget } from '../targets.js';
import type { Contender } from './contender.js';
import { openKnex } from './knex.js';
import { openPolyrecord } from './polyrecord.js';
import { openRaw } from './raw.js';

export type { Contender } from './contender.js';

const OPENERS: Record<ContenderName, (target: BenchTarget) => Contender> = {
  raw: openRaw,
  knex: openKnex,
  polyrecord: openPolyrecord,
};

/** Opens the named contenders on the target, in the given order (the table must exist). */
export function openContenders(target: BenchTarget, names: readonly ContenderName[]): Contender[] {
  return names.map((name) => OPENERS[name](target));
}
