/**
 * What query events cost on W1 (find by primary key, polyrecord only): with nobody
 * listening, and with a listener that counts the events (the cheapest real listener).
 * The two modes alternate, round by round, on one seeded table; each round is a whole
 * W1 run (warm-up included). Prints the fastest and the median round per mode.
 *
 * Only public API is used, and the listener is added through an untyped view of the
 * manager's emitter, so this file builds against a tree without the feature too: that is
 * how the figures "before" in docs/performance.md were taken (on main, the listener never
 * fires).
 *
 * Build and run (BENCH_DIALECTS and the server URLs as for `npm run bench`):
 *   npm run build --silent && npx tsc -p tsconfig.run.json && \
 *   BENCH_QE_ROUNDS=7 node --expose-gc .build/bench/query-events.js
 */
import { ConnectionManager } from 'polyrecord';
import { openContenders } from './contenders/index.js';
import { BenchDatabase } from './database.js';
import { readOptions } from './options.js';
import { provisionTarget } from './targets.js';
import { WORKLOADS } from './workloads.js';

type Mode = 'no listener' | 'listener';
interface Emitter {
  on(event: string, listener: (event: unknown) => void): unknown;
  off(event: string, listener: (event: unknown) => void): unknown;
}

const log = (message: string) => process.stderr.write(`${message}\n`);
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const options = readOptions(process.env, WORKLOADS.map((w) => w.id));
  const rounds = Number(process.env.BENCH_QE_ROUNDS ?? 7);
  const w1 = WORKLOADS.find((w) => w.id === 'W1')!;
  const events = ConnectionManager.default.events as unknown as Emitter;
  console.log(`# query events on W1, ${new Date().toISOString()}, ${rounds} alternating rounds\n`);
  console.log('| dialect | mode | fastest round ms | median round ms | events per round |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const choice of options.dialects) {
    const target = await provisionTarget(choice);
    const db = await BenchDatabase.open(target);
    const [polyrecord] = openContenders(target, ['polyrecord']);
    const times: Record<Mode, number[]> = { 'no listener': [], listener: [] };
    let counted = 0;
    const count = () => void counted++;
    try {
      for (let round = 0; round < rounds; round++) {
        const order: Mode[] = round % 2 === 0 ? ['no listener', 'listener'] : ['listener', 'no listener'];
        for (const mode of order) {
          if (mode === 'listener') events.on('query', count);
          try {
            const { ms } = await w1.measure(polyrecord!, db, true);
            times[mode].push(ms);
            log(`${target.label} round ${round + 1} ${mode}: ${ms.toFixed(0)} ms`);
          } finally {
            events.off('query', count);
          }
        }
      }
    } finally {
      await polyrecord!.close();
      await db.close();
      await target.drop();
    }
    for (const mode of ['no listener', 'listener'] as const) {
      console.log(`| ${target.label} | ${mode} | ${Math.min(...times[mode]).toFixed(0)} | ${median(times[mode]).toFixed(0)} | ${mode === 'listener' ? Math.round(counted / rounds) : 0} |`);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
