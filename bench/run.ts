/**
 * `npm run bench`: polyrecord against plain knex and the raw driver, workload by
 * workload, on SQLite and on the servers whose URLs are set. See docs/performance.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { measureCold } from './cold.js';
import { measureInProcesses, relationsToPlain } from './in-processes.js';
import { openContenders, type Contender } from './contenders/index.js';
import { BenchDatabase } from './database.js';
import { medianOfRounds, profileSections } from './measure.js';
import { readOptions, type BenchMode, type DialectChoice, type ContenderName, type OrmName } from './options.js';
import { SectionProfiler } from './profiler.js';
import { renderDialect } from './report.js';
import { toPlain, type DialectResult, type WorkloadResult } from './results.js';
import { renderRelations, type RelationResult } from './relations/report.js';
import { benchRelations, RELATION_IDS } from './relations/run.js';
import { provisionTarget, type BenchTarget } from './targets.js';
import { WORKLOADS, type Measurement, type Workload } from './workloads.js';

const log = (message: string) => process.stderr.write(`${message}\n`);

const describe = (error: unknown) => (error instanceof Error ? (error.stack ?? error.message) : String(error));

/**
 * Warm mode: each contender on a freshly seeded table, warmed up, then timed, `rounds` times
 * interleaved with the other contenders in a balanced order (see medianOfRounds); where that
 * order starts moves from one workload to the next.
 */
async function warmRun(target: BenchTarget, contenders: readonly Contender[], db: BenchDatabase, index: number, workload: Workload, profiler: SectionProfiler | undefined, failures: string[], rounds: number, warmUp = true): Promise<Partial<Record<ContenderName, Measurement>>> {
  return medianOfRounds(contenders, rounds, index, async (contender, round) => {
    try {
      profiler?.label(`${target.dialect}-${workload.id}-${contender.name}${rounds > 1 ? `-${round + 1}` : ''}`);
      const m = await workload.measure(contender, db, warmUp);
      log(`  ${workload.id} ${contender.name.padEnd(10)} ${m.ms.toFixed(0).padStart(7)} ms${m.rssMB === undefined ? '' : `  rss +${m.rssMB.toFixed(1)} MB`}`);
      return m;
    } catch (error) {
      failures.push(`${target.label} ${workload.id} ${contender.name}: ${describe(error)}`);
      log(`  ${workload.id} ${contender.name.padEnd(10)} FAILED: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  });
}

/** Cold mode: the per-call workloads interleaved over all contenders; the single-call bulk ones run once per contender without a warm-up. */
async function coldRun(target: BenchTarget, contenders: readonly Contender[], db: BenchDatabase, index: number, workload: Workload, failures: string[]): Promise<Partial<Record<ContenderName, Measurement>>> {
  if (!workload.cold) return warmRun(target, contenders, db, index, workload, undefined, failures, 1, false);
  try {
    const by = await measureCold(workload.cold, contenders, db, `${target.dialect}-${workload.id}-cold`);
    log(`  ${workload.id} ${Object.entries(by).map(([name, m]) => `${name} ${m.ms.toFixed(1)} ms`).join(', ')}`);
    return by;
  } catch (error) {
    failures.push(`${target.label} ${workload.id} (cold): ${describe(error)}`);
    log(`  ${workload.id} cold FAILED: ${error instanceof Error ? error.message : String(error)}`);
    return {};
  }
}

async function benchDialect(choice: DialectChoice, only: ReadonlySet<string> | undefined, names: readonly ContenderName[], orms: readonly OrmName[], modes: readonly BenchMode[], profiler: SectionProfiler | undefined, rounds: number): Promise<{ results: DialectResult[]; failures: string[]; relations?: RelationResult[] }> {
  const target = await provisionTarget(choice);
  const db = await BenchDatabase.open(target);
  let contenders: Contender[] = [];
  const failures: string[] = [];
  try {
    await db.reset(); // the raw SQLite contender prepares its statements against the table
    const version = await db.serverVersion();
    contenders = openContenders(target, names);
    const ran = contenders.map((c) => c.name);
    const results: DialectResult[] = [];
    for (const mode of modes) {
      log(`\n${target.label} ${version}, ${mode}: ${target.dialect === 'sqlite' ? target.location : 'fresh database'}`);
      const workloads: WorkloadResult[] = [];
      for (const [index, workload] of WORKLOADS.filter((w) => !only || only.has(w.id)).entries()) {
        const by = mode === 'warm' ? await warmRun(target, contenders, db, index, workload, profiler, failures, rounds) : await coldRun(target, contenders, db, index, workload, failures);
        const title = mode === 'cold' && workload.cold ? workload.cold.title : workload.title;
        workloads.push({ workload, title, by });
      }
      results.push({ label: target.label, dialect: target.dialect, mode, version, contenders: ran, workloads, ...(mode === 'warm' ? { rounds } : {}) });
    }
    // R1–R5 read a seeded set of tables many times over: warm mode only (the first-call costs are W1–W3's cold mode).
    const relations = modes.includes('warm') && RELATION_IDS.some((id) => !only || only.has(id)) ? await benchRelations(choice, target, only, names, orms, failures, rounds) : undefined;
    return { results, failures, relations };
  } finally {
    for (const contender of contenders) await contender.close().catch((error: unknown) => log(`closing ${contender.name}: ${String(error)}`));
    await db.close();
    await target.drop();
  }
}

async function main(): Promise<void> {
  const options = readOptions(process.env, [...WORKLOADS.map((w) => w.id), ...RELATION_IDS]);
  const cpu = cpus();
  console.log(`# polyrecord bench, ${new Date().toISOString()}`);
  console.log(`Node ${process.version}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`);
  const profiler = options.cpuProfile ? new SectionProfiler(options.cpuProfile) : undefined;
  profileSections(profiler);
  const failures: string[] = [];
  const results: DialectResult[] = [];
  for (const choice of options.dialects) {
    const started = Date.now();
    // Modes measured in fresh processes first (this process has not run polyrecord yet either way), then the rest here.
    const runsOf = (mode: BenchMode) => (mode === 'cold' ? options.coldRuns : options.warmRuns);
    const inChildren = new Map(options.modes.filter((mode) => runsOf(mode) > 1).map((mode) => [mode, measureInProcesses(choice, mode, runsOf(mode), log)] as const));
    const here = options.modes.filter((mode) => !inChildren.has(mode));
    const run = here.length > 0 ? await benchDialect(choice, options.only, options.contenders, options.orms, here, profiler, options.warmRounds) : { results: [], failures: [], relations: undefined };
    failures.push(...run.failures);
    const measured = options.modes.flatMap((mode) => {
      const child = inChildren.get(mode);
      if (!child) return run.results.filter((r) => r.mode === mode);
      failures.push(...child.failures);
      return child.result ? [child.result] : [];
    });
    results.push(...measured);
    const warmChildren = inChildren.get('warm');
    const relations = warmChildren ? warmChildren.relations : run.relations;
    if (options.json) writeFileSync(options.json, `${JSON.stringify(toPlain(results), null, 2)}\n`);
    if (options.relationsJson && relations) writeFileSync(options.relationsJson, `${JSON.stringify(relationsToPlain(relations))}\n`);
    for (const result of measured.filter((r) => r.workloads.length > 0)) console.log(`\n${renderDialect(result)}`);
    const label = measured.find((r) => r.mode === 'warm')?.label;
    if (relations && label) console.log(`\n${renderRelations(label, relations, warmChildren ? options.warmRuns : 1, options.warmRounds)}`);
    log(`(${choice.dialect} took ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  if (failures.length) {
    console.error(`\n${failures.length} measurement(s) failed:\n${failures.join('\n\n')}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
