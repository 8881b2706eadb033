import { performance } from 'node:perf_hooks';
import type { SectionProfiler } from './profiler.js';

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

/** The items starting at number `by` (wrapping), so none always goes first or last. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const start = items.length ? by % items.length : 0;
  return [...items.slice(start), ...items.slice(0, start)];
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
