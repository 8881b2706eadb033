import { performance } from 'node:perf_hooks';
import type { Contender } from './contenders/index.js';
import type { BenchDatabase } from './database.js';
import { collectGarbage, startProfile } from './measure.js';
import { balancedOrder } from './order.js';
import type { ContenderName } from './options.js';
import type { ColdWorkload, Measurement } from './workloads.js';

/**
 * Cold mode: every contender makes the workload's calls on one table, interleaved in
 * turns of `round` calls (each turn in another order, see {@link balancedOrder}), after a
 * short warm-up. Each call is awaited before the next, as an application's request would;
 * the clock runs around each turn, so a contender is charged only for its own calls.
 * Unlike warm mode the JIT has not settled and the contenders share the caches, the heap
 * and the garbage collector, as the libraries in one application do.
 */
export async function measureCold(cold: ColdWorkload, contenders: readonly Contender[], db: BenchDatabase, label = 'cold'): Promise<Partial<Record<ContenderName, Measurement>>> {
  await cold.seed(db);
  const span = cold.calls + cold.warmUp;
  const calls = [];
  // Which contender gets which rows (ids, pages) moves from run to run (BENCH_COLD_RUN), so no contender always has the same part of the table.
  const shift = Number(process.env.BENCH_COLD_RUN ?? 0) % contenders.length;
  for (const [k, contender] of contenders.entries()) calls.push(await cold.open(contender, (k + shift) % contenders.length, span));
  // Warm-up: the calls after the timed ones, one contender after the other.
  for (let i = cold.calls; i < span; i++) for (const call of calls) await call(i);
  // A profile (BENCH_CPU_PROFILE) covers the timed turns of all contenders together.
  const stopProfiler = await startProfile(label);
  collectGarbage();
  const totals = contenders.map(() => 0);
  const order = contenders.map((_, k) => k);
  for (let start = 0, turn = 0; start < cold.calls; start += cold.round, turn++) {
    const end = Math.min(start + cold.round, cold.calls);
    for (const k of balancedOrder(order, turn)) {
      const call = calls[k]!;
      const began = performance.now();
      for (let i = start; i < end; i++) await call(i);
      totals[k]! += performance.now() - began;
    }
  }
  await stopProfiler?.();
  await cold.check(db, contenders.length, span);
  return Object.fromEntries(contenders.map((c, k) => [c.name, { ms: totals[k]! }]));
}
