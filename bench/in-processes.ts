import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchMode, DialectChoice } from './options.js';
import { RELATION_WORKLOADS } from './relations/workloads.js';
import { relationRatio, type RelationResult } from './relations/report.js';
import { preparedRatio, ratio, type DialectResult, type WorkloadResult } from './results.js';
import { WORKLOADS } from './workloads.js';

/** What one child process wrote with `BENCH_JSON` (see `toPlain`). */
interface PlainResult extends Omit<DialectResult, 'workloads'> {
  readonly workloads: ReadonlyArray<{ id: string; title: string; by: WorkloadResult['by'] }>;
}

/** What one child process wrote with `BENCH_RELATIONS_JSON` (see `relationsToPlain`). */
type PlainRelations = ReadonlyArray<{ id: string; by: RelationResult['by'] }>;

/** polyrecord against the prepared raw driver where it ran, else against raw: what a run is ranked by. */
function rank(result: WorkloadResult, dialect: DialectResult['dialect']): number {
  return preparedRatio(result, dialect) ?? ratio(result, 'polyrecord') ?? 0;
}

/** The entry whose rank is the median; of an even count the higher one (polyrecord's worse). */
function median<T>(entries: T[], rankOf: (entry: T) => number): T {
  entries.sort((a, b) => rankOf(a) - rankOf(b));
  return entries[Math.floor(entries.length / 2)]!;
}

/** One mode of one dialect measured in fresh processes: per workload the median run, and the relation workloads' (warm mode). */
export interface InProcesses {
  readonly result: DialectResult | undefined;
  readonly relations: RelationResult[] | undefined;
  readonly failures: string[];
}

/**
 * One mode measured `runs` times, each in a new Node process, one dialect per process. A
 * cold run of a few thousand calls swings by tens of percent with when the JIT compiles, and
 * a warm run of many rows by as much with how V8 happens to size its young generation
 * (polyrecord's CPU time on R1 was 625 ms in one process and 906 ms in the next). So per
 * workload the run whose polyrecord ratio is the median is reported: one real run, its
 * contenders measured side by side, not a mix of runs.
 */
export function measureInProcesses(choice: DialectChoice, mode: BenchMode, runs: number, log: (message: string) => void): InProcesses {
  const dir = mkdtempSync(join(tmpdir(), `polyrecord-${mode}-`));
  const failures: string[] = [];
  const outcomes: DialectResult[] = [];
  const relationRuns: RelationResult[][] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      log(`\n${choice.dialect}, ${mode} run ${run} of ${runs} (a fresh process)`);
      const [json, relationsJson] = [join(dir, `run-${run}.json`), join(dir, `relations-${run}.json`)];
      const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!], {
        env: { ...process.env, BENCH_MODE: mode, BENCH_DIALECTS: choice.dialect, BENCH_COLD_RUNS: '1', BENCH_WARM_RUNS: '1', BENCH_COLD_RUN: String(run - 1), BENCH_JSON: json, BENCH_RELATIONS_JSON: relationsJson, BENCH_CPU_PROFILE: '' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      if (child.status !== 0) failures.push(`${choice.dialect} ${mode} run ${run}: the process exited with ${child.status ?? child.signal}`);
      try {
        outcomes.push(...(JSON.parse(readFileSync(json, 'utf8')) as PlainResult[]).map(revive));
      } catch (error) {
        failures.push(`${choice.dialect} ${mode} run ${run}: no results (${error instanceof Error ? error.message : String(error)})`);
      }
      try {
        relationRuns.push(reviveRelations(JSON.parse(readFileSync(relationsJson, 'utf8')) as PlainRelations));
      } catch {
        // This run measured no relation workload (cold mode, or BENCH_ONLY left them out).
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { result: medianRun(outcomes), relations: medianRelations(relationRuns), failures };
}

function medianRun(outcomes: readonly DialectResult[]): DialectResult | undefined {
  const first = outcomes[0];
  if (!first) return undefined;
  const workloads = first.workloads.map((w) => {
    const all = outcomes.map((o) => o.workloads.find((x) => x.workload.id === w.workload.id)).filter((x): x is WorkloadResult => x !== undefined);
    return median(all, (r) => rank(r, first.dialect));
  });
  return { ...first, runs: outcomes.length, workloads };
}

function medianRelations(runs: readonly RelationResult[][]): RelationResult[] | undefined {
  const first = runs[0];
  if (!first) return undefined;
  return first.map((r) => median(runs.map((run) => run.find((x) => x.workload.id === r.workload.id)).filter((x): x is RelationResult => x !== undefined), (x) => relationRatio(x, 'knex') ?? 0));
}

function revive(plain: PlainResult): DialectResult {
  return {
    ...plain,
    workloads: plain.workloads.map(({ id, title, by }) => {
      const workload = WORKLOADS.find((w) => w.id === id);
      if (!workload) throw new Error(`unknown workload ${id} in a child run's results`);
      return { workload, title, by };
    }),
  };
}

function reviveRelations(plain: PlainRelations): RelationResult[] {
  return plain.map(({ id, by }) => {
    const workload = RELATION_WORKLOADS.find((w) => w.id === id);
    if (!workload) throw new Error(`unknown relation workload ${id} in a child run's results`);
    return { workload, by };
  });
}

/** The relation measurements without the workload objects, for `BENCH_RELATIONS_JSON`. */
export function relationsToPlain(results: readonly RelationResult[]): PlainRelations {
  return results.map(({ workload, by }) => ({ id: workload.id, by }));
}
