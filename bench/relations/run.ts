import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import createKnex from 'knex';
import { medianOfRounds } from '../measure.js';
import type { ContenderName, DialectChoice, OrmName } from '../options.js';
import { provisionTarget, type BenchTarget } from '../targets.js';
import type { RelationContender, RelationContenderName } from './contender.js';
import { seedChildren, seedRelations, SIZES } from './data.js';
import { openKnexRelations } from './knex.js';
import { openLucidRelations } from './lucid.js';
import { openObjectionRelations } from './objection.js';
import { openPolyrecordRelations } from './polyrecord.js';
import { openRawRelations } from './raw.js';
import type { RelationResult } from './report.js';
import { RELATION_WORKLOADS, measureRelation } from './workloads.js';
import { measureIsolated } from './isolated.js';

const log = (message: string) => process.stderr.write(`${message}\n`);

/**
 * The second database of R2: another file next to the SQLite one, or another database on
 * the same server (`polyrecord_bench_<pid>_b`). Same dialect: R2 measures crossing a
 * connection, not the other dialect's driver.
 */
async function secondDatabase(choice: DialectChoice, main: BenchTarget): Promise<BenchTarget> {
  if (choice.dialect !== 'sqlite') return provisionTarget(choice, '_b');
  const file = `${dirname(main.location)}/second.sqlite`;
  return {
    ...main,
    location: file,
    polyrecordConfig: { driver: 'sqlite', database: file },
    knexConfig: { client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true },
    drop: async () => rmSync(file, { force: true }),
  };
}

async function seed(target: BenchTarget, onlyChildren: boolean): Promise<void> {
  const knex = createKnex(target.knexConfig);
  try {
    if (target.dialect === 'sqlite') await knex.raw('PRAGMA journal_mode = WAL');
    await (onlyChildren ? seedChildren(knex, target.dialect) : seedRelations(knex, target.dialect));
  } finally {
    await knex.destroy();
  }
}

/** Opens one contender on the seeded databases. */
export function openContender(name: RelationContenderName, main: BenchTarget, second: BenchTarget): RelationContender {
  const page = SIZES.eventPage;
  switch (name) {
    case 'raw':
      return openRawRelations(main, second, page);
    case 'knex':
      return openKnexRelations(main, second, page);
    case 'objection':
      return openObjectionRelations(main);
    case 'lucid':
      return openLucidRelations(main);
    case 'polyrecord':
      return openPolyrecordRelations(main, second, page);
  }
}

/** Opens the contenders the run asked for (raw, knex, polyrecord) and the other ORMs (Objection, Lucid). */
function openAll(main: BenchTarget, second: BenchTarget, names: readonly ContenderName[], orms: readonly OrmName[]): RelationContender[] {
  const wanted: RelationContenderName[] = [...(['raw', 'knex'] as const).filter((n) => names.includes(n)), ...orms];
  if (names.includes('polyrecord')) wanted.push('polyrecord');
  return wanted.map((name) => openContender(name, main, second));
}

/** R1–R5 on one dialect, warm mode only; resolves with each workload's measurements. */
export async function benchRelations(choice: DialectChoice, main: BenchTarget, only: ReadonlySet<string> | undefined, names: readonly ContenderName[], orms: readonly OrmName[], failures: string[], rounds: number): Promise<RelationResult[]> {
  const workloads = RELATION_WORKLOADS.filter((w) => !only || only.has(w.id));
  const second = await secondDatabase(choice, main);
  let contenders: RelationContender[] = [];
  try {
    const started = Date.now();
    await seed(main, false);
    await seed(second, true);
    log(`\n${main.label}, relations (seeded in ${((Date.now() - started) / 1000).toFixed(0)} s)`);
    contenders = openAll(main, second, names, orms);
    const results: RelationResult[] = [];
    for (const [index, workload] of workloads.entries()) {
      const by = await medianOfRounds(contenders, rounds, index, async (contender, round) => {
        try {
          const m = workload.isolated ? workload.call(contender) && measureIsolated(workload, contender.name, main, second) : await measureRelation(workload, contender, `${main.dialect}-${workload.id}-${contender.name}${rounds > 1 ? `-${round + 1}` : ''}`);
          if (!m) return undefined;
          log(`  ${workload.id} ${contender.name.padEnd(10)} ${m.ms.toFixed(0).padStart(7)} ms (cpu ${m.cpuMs?.toFixed(0)} ms)${m.rssMB === undefined ? '' : `  rss +${m.rssMB.toFixed(1)} MB`}`);
          return m;
        } catch (error) {
          failures.push(`${main.label} ${workload.id} ${contender.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
          log(`  ${workload.id} ${contender.name.padEnd(10)} FAILED: ${error instanceof Error ? error.message : String(error)}`);
          return undefined;
        }
      });
      results.push({ workload, by });
    }
    return results;
  } finally {
    for (const contender of contenders) await contender.close().catch((error: unknown) => log(`closing ${contender.name}: ${String(error)}`));
    await second.drop();
  }
}

/** The relation workload ids, for `BENCH_ONLY`. */
export const RELATION_IDS = RELATION_WORKLOADS.map((w) => w.id);
