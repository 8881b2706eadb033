import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DialectChoice } from './options.js';
import { preparedRatio, ratio, type DialectResult, type WorkloadResult } from './results.js';
import { WORKLOADS } from './workloads.js';

/** What one child process wrote with `BENCH_JSON` (see `toPlain`). */
interface PlainResult extends Omit<DialectResult, 'workloads'> {
  readonly workloads: ReadonlyArray<{ id: string; title: string; by: WorkloadResult['by'] }>;
}

/** polyrecord against the prepared raw driver where it ran, else against raw: what a run is ranked by. */
function rank(result: WorkloadResult, dialect: DialectResult['dialect']): number {
  return preparedRatio(result, dialect) ?? ratio(result, 'polyrecord') ?? 0;
}

/**
 * Cold mode measured `runs` times, each in a new Node process (nothing compiled, nothing
 * cached: what a cold start is), one dialect per process. A single cold run of a few
 * thousand calls swings by tens of percent with when the JIT happens to compile, so per
 * workload the run whose polyrecord ratio is the median is reported: one real run, its
 * contenders measured side by side, not a mix of runs.
 */
export function coldInProcesses(choice: DialectChoice, runs: number, log: (message: string) => void): { result: DialectResult | undefined; failures: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'polyrecord-cold-'));
  const failures: string[] = [];
  const outcomes: DialectResult[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      log(`\n${choice.dialect}, cold run ${run} of ${runs} (a fresh process)`);
      const json = join(dir, `run-${run}.json`);
      const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!], {
        env: { ...process.env, BENCH_MODE: 'cold', BENCH_DIALECTS: choice.dialect, BENCH_COLD_RUNS: '1', BENCH_COLD_RUN: String(run - 1), BENCH_JSON: json, BENCH_CPU_PROFILE: '' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      if (child.status !== 0) failures.push(`${choice.dialect} cold run ${run}: the process exited with ${child.status ?? child.signal}`);
      try {
        outcomes.push(...(JSON.parse(readFileSync(json, 'utf8')) as PlainResult[]).map(revive));
      } catch (error) {
        failures.push(`${choice.dialect} cold run ${run}: no results (${error instanceof Error ? error.message : String(error)})`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const first = outcomes[0];
  if (!first) return { result: undefined, failures };
  const workloads = first.workloads.map((w) => {
    const all = outcomes.map((o) => o.workloads.find((x) => x.workload.id === w.workload.id)).filter((x): x is WorkloadResult => x !== undefined);
    all.sort((a, b) => rank(a, first.dialect) - rank(b, first.dialect));
    return all[Math.floor((all.length - 1) / 2)]!;
  });
  return { result: { ...first, runs: outcomes.length, workloads }, failures };
}

function revive(plain: PlainResult): DialectResult {
  return {
    ...plain,
    workloads: plain.workloads.map(({ id, title, by }) => {
      const workload = WORKLOADS.find((w) => w.id === id);
      if (!workload) throw new Error(`unknown workload ${id} in a cold run's results`);
      return { workload, title, by };
    }),
  };
}
