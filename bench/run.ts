/**
 * `npm run bench`: polyrecord against plain knex and the raw driver, workload by
 * workload, on SQLite and on the servers whose URLs are set. See docs/performance.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { openContenders, type Contender } from './contenders/index.js';
import { BenchDatabase } from './database.js';
import { profileSections } from './measure.js';
import { readOptions, type DialectChoice, type ContenderName } from './options.js';
import { SectionProfiler } from './profiler.js';
import { renderDialect } from './report.js';
import { toPlain, type DialectResult, type WorkloadResult } from './results.js';
import { provisionTarget } from './targets.js';
import { WORKLOADS, type Measurement } from './workloads.js';

const log = (message: string) => process.stderr.write(`${message}\n`);

/** The contenders starting at a different one for each workload, so none always runs first (right after the previous workload) or last. */
function rotate<T>(items: readonly T[], by: number): T[] {
  const start = items.length ? by % items.length : 0;
  return [...items.slice(start), ...items.slice(0, start)];
}

async function benchDialect(choice: DialectChoice, only: ReadonlySet<string> | undefined, names: readonly ContenderName[], profiler: SectionProfiler | undefined): Promise<{ result: DialectResult; failures: string[] }> {
  const target = await provisionTarget(choice);
  const db = await BenchDatabase.open(target);
  let contenders: Contender[] = [];
  const failures: string[] = [];
  try {
    await db.reset(); // the raw SQLite contender prepares its statements against the table
    const version = await db.serverVersion();
    contenders = openContenders(target, names);
    log(`\n${target.label} ${version}: ${target.dialect === 'sqlite' ? target.location : 'fresh database'}`);
    const workloads: WorkloadResult[] = [];
    for (const [index, workload] of WORKLOADS.filter((w) => !only || only.has(w.id)).entries()) {
      const by: Partial<Record<ContenderName, Measurement>> = {};
      for (const contender of rotate(contenders, index)) {
        try {
          profiler?.label(`${target.dialect}-${workload.id}-${contender.name}`);
          const m = await workload.measure(contender, db);
          by[contender.name] = m;
          log(`  ${workload.id} ${contender.name.padEnd(10)} ${m.ms.toFixed(0).padStart(7)} ms${m.rssMB === undefined ? '' : `  rss +${m.rssMB.toFixed(1)} MB`}`);
        } catch (error) {
          failures.push(`${target.label} ${workload.id} ${contender.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
          log(`  ${workload.id} ${contender.name.padEnd(10)} FAILED: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      workloads.push({ workload, by });
    }
    return { result: { label: target.label, dialect: target.dialect, version, contenders: names, workloads }, failures };
  } finally {
    for (const contender of contenders) await contender.close().catch((error: unknown) => log(`closing ${contender.name}: ${String(error)}`));
    await db.close();
    await target.drop();
  }
}

async function main(): Promise<void> {
  const options = readOptions(process.env, WORKLOADS.map((w) => w.id));
  const cpu = cpus();
  console.log(`# polyrecord bench, ${new Date().toISOString()}`);
  console.log(`Node ${process.version}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`);
  const profiler = options.cpuProfile ? new SectionProfiler(options.cpuProfile) : undefined;
  profileSections(profiler);
  const failures: string[] = [];
  const results: DialectResult[] = [];
  for (const choice of options.dialects) {
    const started = Date.now();
    const run = await benchDialect(choice, options.only, options.contenders, profiler);
    failures.push(...run.failures);
    results.push(run.result);
    if (options.json) writeFileSync(options.json, `${JSON.stringify(toPlain(results), null, 2)}\n`);
    console.log(`\n${renderDialect(run.result)}`);
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
