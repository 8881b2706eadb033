import { performance } from 'node:perf_hooks';
import type { SectionProfiler } from './profiler.js';
import { balancedOrder } from './order.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) process.emitWarning('run node with --expose-gc (npm run bench does) so each timed section starts from a collected heap');

/** Collects garbage so one section's leftovers are not charged to the next. */
export function collectGarbage(): void {
  gc?.();
}

let profiler: SectionProfiler | undefined;

/** Profiles every timed section from now on (or stops doing so). */
export function profileSections(sections: SectionProfiler | undefined): void {
  profiler = sections;
}

/** Starts profiling a section if profiles are wanted; the returned function ends it. */
export async function startProfile(label?: string): Promise<(() => Promise<void>) | undefined> {
  if (!profiler) return undefined;
  if (label !== undefined) profiler.label(label);
  return profiler.start();
}

/** Milliseconds `fn` takes, starting from a collected heap. */
export async function timed(fn: () => Promise<unknown>, label?: string): Promise<number> {
  return (await timedWithCpu(fn, label)).ms;
}

/**
 * Wall-clock and CPU milliseconds of `fn` (this process's user + system time, which other
 * processes on a loaded machine do not inflate), starting from a collected heap.
 */
export async function timedWithCpu(fn: () => Promise<unknown>, label?: string): Promise<{ ms: number; cpuMs: number }> {
  const stopProfiler = await startProfile(label);
  collectGarbage();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  await stopProfiler?.();
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

/** What {@link medianOfRounds} needs of a measurement, and what it adds. */
export interface RoundMeasurement {
  readonly ms: number;
  readonly rssMB?: number;
  /** Set by {@link medianOfRounds}: the time of each round this contender ran, round 0 first. */
  readonly byRound?: readonly number[];
}

/**
 * The lowest and highest of `a`'s time over `b`'s, round by round (each round's pair ran
 * next to each other), where both ran more than one round: how far one ratio of medians
 * can be trusted on a noisy machine.
 */
export function roundRatioRange(a: RoundMeasurement | undefined, b: RoundMeasurement | undefined): [number, number] | undefined {
  const rounds = Math.min(a?.byRound?.length ?? 0, b?.byRound?.length ?? 0);
  if (rounds < 2) return undefined;
  const ratios = Array.from({ length: rounds }, (_, i) => a!.byRound![i]! / b!.byRound![i]!);
  return [Math.min(...ratios), Math.max(...ratios)];
}

/**
 * Measures every contender `rounds` times, interleaved: each round runs all of them, each
 * round in another order (see {@link balancedOrder}). A contender's single long run lands
 * on whatever the machine and the collector are doing at that moment (on this 2-core VM
 * one timed run of 10,000 rows moves by 20–40% from one try to the next, for every
 * contender alike), and an order fixed per workload favours whoever runs in the quieter
 * stretch. Interleaving puts each contender in every position and after every other, so
 * the median of its rounds compares like with like.
 *
 * Per contender: the round with the median time (of an even count, the slower of the two
 * middle ones), carrying every round's time (`byRound`) and the largest RSS growth any
 * round saw (a memory goal is judged on the worst round). `measure` resolves undefined when the contender has nothing to measure
 * or failed (it reports its own failure): it then sits out the remaining rounds.
 */
export async function medianOfRounds<C extends { readonly name: N }, N extends string, M extends RoundMeasurement>(
  contenders: readonly C[],
  rounds: number,
  start: number,
  measure: (contender: C, round: number) => Promise<M | undefined>,
): Promise<Partial<Record<N, M>>> {
  const seen = new Map<N, M[]>(contenders.map((c) => [c.name, []]));
  let active = [...contenders];
  for (let round = 0; round < rounds && active.length > 0; round++) {
    const out: C[] = [];
    for (const contender of balancedOrder(active, start + round)) {
      const m = await measure(contender, round);
      if (m === undefined) out.push(contender);
      else seen.get(contender.name)!.push(m);
    }
    active = active.filter((c) => !out.includes(c));
  }
  const by: Partial<Record<N, M>> = {};
  for (const [name, all] of seen) {
    if (all.length === 0) continue;
    const sorted = [...all].sort((a, b) => a.ms - b.ms);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const rss = all.map((m) => m.rssMB).filter((r): r is number => r !== undefined);
    // A contender that failed sat out the later rounds, so its times are those of rounds 0, 1, … in order.
    const byRound = all.map((m) => m.ms);
    by[name] = rss.length > 0 ? { ...median, rssMB: Math.max(...rss), byRound } : { ...median, byRound };
  }
  return by;
}

/** Awaits `step(i)` for i = `from` … `from + count - 1`, one after the other. */
export async function repeat(count: number, step: (i: number) => unknown, from = 0): Promise<void> {
  for (let i = from; i < from + count; i++) await step(i);
}

/**
 * The largest growth of the resident set since `start()`, from samples the caller
 * takes (`process.memoryUsage.rss()`: the same number as `memoryUsage().rss`
 * without walking the heap).
 */
export class RssPeak {
  #baseline = 0;
  #peak = 0;

  start(): void {
    collectGarbage();
    this.#baseline = this.#peak = process.memoryUsage.rss();
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.#peak) this.#peak = rss;
  }

  get growthMB(): number {
    return (this.#peak - this.#baseline) / (1024 * 1024);
  }
}
