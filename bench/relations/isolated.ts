/**
 * Measures one contender on one relation workload in a process of its own (R5): a peak
 * resident-set growth depends on the heap the process already has, and after R1–R4 (tens
 * of thousands of rows held per call, by every contender) V8 lets a streaming workload's
 * garbage pile up to 100 MB and more before collecting it, by whichever contender happens
 * to run after the largest heap. A fresh process per contender measures what streaming
 * costs, the same way for each of them.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchTarget } from '../targets.js';
import type { RelationContender, RelationContenderName } from './contender.js';
import type { RelationMeasurement, RelationWorkload } from './workloads.js';

/** What the child needs to reach the seeded databases: the targets without their `drop`. */
type PlainTarget = Omit<BenchTarget, 'drop'>;

interface IsolatedTask {
  readonly main: PlainTarget;
  readonly second: PlainTarget;
  readonly contender: RelationContenderName;
  readonly workload: string;
}

const plain = ({ drop: _drop, ...target }: BenchTarget): PlainTarget => target;

/** Runs `workload` for `contender` in a new Node process on the same (already seeded) databases. */
export function measureIsolated(workload: RelationWorkload, contender: RelationContenderName, main: BenchTarget, second: BenchTarget): RelationMeasurement | undefined {
  const task: IsolatedTask = { main: plain(main), second: plain(second), contender, workload: workload.id };
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_ISOLATED_TASK: JSON.stringify(task) },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`${workload.id} ${contender} in its own process: exited with ${child.status ?? child.signal}`);
  const result = JSON.parse(child.stdout.trim().split('\n').pop() ?? 'null') as RelationMeasurement | null;
  return result ?? undefined;
}

async function child(task: IsolatedTask): Promise<void> {
  // Imported here: the parent process loads none of the contenders twice.
  const { openContender } = await import('./run.js');
  const { RELATION_WORKLOADS, measureRelation } = await import('./workloads.js');
  const { profileSections } = await import('../measure.js');
  const { SectionProfiler } = await import('../profiler.js');
  if (process.env.BENCH_CPU_PROFILE) profileSections(new SectionProfiler(process.env.BENCH_CPU_PROFILE));
  const target = (t: PlainTarget): BenchTarget => ({ ...t, drop: async () => undefined });
  const contender: RelationContender = openContender(task.contender, target(task.main), target(task.second));
  try {
    const workload = RELATION_WORKLOADS.find((w) => w.id === task.workload)!;
    process.stdout.write(`${JSON.stringify((await measureRelation(workload, contender, `${task.main.dialect}-${workload.id}-${task.contender}`)) ?? null)}\n`);
  } finally {
    await contender.close();
  }
}

const task = process.env.BENCH_ISOLATED_TASK;
if (task && process.argv[1] === fileURLToPath(import.meta.url)) {
  child(JSON.parse(task) as IsolatedTask).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
