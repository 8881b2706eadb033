import { RAW_PREPARES } from './contenders/index.js';
import type { BenchMode, ContenderName, Dialect } from './options.js';
import type { Measurement, Workload } from './workloads.js';

/** Every contender's measurement of one workload on one dialect. */
export interface WorkloadResult {
  readonly workload: Workload;
  /** What was measured (cold runs make fewer calls than warm ones). */
  readonly title: string;
  readonly by: Partial<Record<ContenderName, Measurement>>;
}

/** One dialect's run in one mode. */
export interface DialectResult {
  readonly label: string;
  readonly dialect: Dialect;
  readonly mode: BenchMode;
  readonly version: string;
  /** The contenders that ran (`prepared` only where `raw` does not prepare). */
  readonly contenders: readonly ContenderName[];
  readonly workloads: readonly WorkloadResult[];
  /** Cold mode: how many fresh processes measured it (each workload reports the median one). */
  readonly runs?: number;
  /** Warm mode: how many interleaved timed runs each contender had per workload (the median is reported). */
  readonly rounds?: number;
}

/** The raw driver with prepared statements: `prepared` where it ran, else `raw` where that prepares (SQLite, MySQL). */
export function preparedMs(result: WorkloadResult, dialect: Dialect): number | undefined {
  return result.by.prepared?.ms ?? (RAW_PREPARES[dialect] ? result.by.raw?.ms : undefined);
}

/** polyrecord's time divided by the prepared raw driver's. */
export function preparedRatio(result: WorkloadResult, dialect: Dialect): number | undefined {
  const base = preparedMs(result, dialect);
  const ms = result.by.polyrecord?.ms;
  return base === undefined || ms === undefined ? undefined : ms / base;
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
    workloads: workloads.map(({ workload, title, by }) => ({ id: workload.id, title, by })),
  }));
}
