import type { ContenderName } from './options.js';
import type { Measurement, Workload } from './workloads.js';

/** Every contender's measurement of one workload on one dialect. */
export interface WorkloadResult {
  readonly workload: Workload;
  readonly by: Partial<Record<ContenderName, Measurement>>;
}

/** One dialect's run. */
export interface DialectResult {
  readonly label: string;
  readonly dialect: string;
  readonly version: string;
  readonly contenders: readonly ContenderName[];
  readonly workloads: readonly WorkloadResult[];
}

/** A contender's time divided by the raw driver's, when both ran. */
export function ratio(result: WorkloadResult, name: ContenderName): number | undefined {
  const raw = result.by.raw?.ms;
  const ms = result.by[name]?.ms;
  return raw === undefined || ms === undefined ? undefined : ms / raw;
}

/** Geometric mean of a contender's ratios to raw over the hot-path workloads measured (those `inMean`). */
export function geometricMean(results: readonly WorkloadResult[], name: ContenderName): number | undefined {
  const ratios = results.filter((r) => r.workload.inMean).map((r) => ratio(r, name)).filter((r): r is number => r !== undefined);
  if (ratios.length === 0) return undefined;
  return Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length);
}

/** The measurements without the workload objects, for `BENCH_JSON`. */
export function toPlain(results: readonly DialectResult[]): unknown {
  return results.map(({ workloads, ...dialect }) => ({
    ...dialect,
    workloads: workloads.map(({ workload, by }) => ({ id: workload.id, title: workload.title, by })),
  }));
}
