import { RssPeak, timedWithCpu, type RoundMeasurement } from '../measure.js';
import { EXPECTED, SIZES } from './data.js';
import type { RelationContender, Tick } from './contender.js';

/** One contender's result on one R workload. */
export interface RelationMeasurement extends RoundMeasurement {
  readonly ms: number;
  /** This process's CPU time during the timed calls (see {@link timedWithCpu}). */
  readonly cpuMs?: number;
  /** R5: peak resident-set growth during the timed run. */
  readonly rssMB?: number;
  /** One call timed and multiplied by the repeats (a {@link RelationContender.oneCall} contender). */
  readonly estimated?: boolean;
}

/** One relation workload: the contender's method (undefined when it has none), repeated, checked. */
export interface RelationWorkload {
  readonly id: string;
  readonly title: string;
  /** The contender's call; undefined when the contender cannot do this. */
  call(c: RelationContender): ((tick: Tick, limit: number) => Promise<number>) | undefined;
  readonly expected: number;
  /** Timed repetitions. */
  readonly repeats: number;
  /** Warm-up: one untimed call, stopped after this many results where the call can stop early. */
  readonly warmUpLimit: number;
  readonly sampleRss?: boolean;
  /** Measured in a new process per contender (see isolated.ts). */
  readonly isolated?: boolean;
}

const n = (value: number) => value.toLocaleString('en');
const REPEATS = 20;

export const RELATION_WORKLOADS: readonly RelationWorkload[] = [
  {
    id: 'R1',
    title: `preload ${n(SIZES.preloadParents)} parents x ${SIZES.childrenPerParent} children, one connection (x${REPEATS})`,
    call: (c) => () => c.preload(SIZES.preloadParents),
    expected: EXPECTED.preloadChildren,
    repeats: REPEATS,
    warmUpLimit: Infinity,
  },
  {
    id: 'R2',
    title: `the same, children in a second database (x${REPEATS})`,
    call: (c) => c.preloadAcross && (() => c.preloadAcross!(SIZES.preloadParents)),
    expected: EXPECTED.preloadChildren,
    repeats: REPEATS,
    warmUpLimit: Infinity,
  },
  {
    id: 'R3',
    title: `nested preload, ${n(SIZES.nestedParents)} parents → children → items → notes (${n(EXPECTED.nestedNotes)}) (x${REPEATS})`,
    call: (c) => c.nested && (() => c.nested!(SIZES.nestedParents)),
    expected: EXPECTED.nestedNotes,
    repeats: REPEATS,
    warmUpLimit: Infinity,
  },
  {
    id: 'R4',
    title: `withCount over ${n(SIZES.parents)} parents (x${REPEATS})`,
    call: (c) => c.withCount && (() => c.withCount!()),
    expected: EXPECTED.counted,
    repeats: REPEATS,
    warmUpLimit: Infinity,
  },
  {
    id: 'R5',
    title: `correlate ${n(SIZES.events)} events streamed in pages of ${n(SIZES.eventPage)} with ${n(SIZES.parents)} parents`,
    call: (c) => c.correlate && ((tick, limit) => c.correlate!(limit, tick)),
    expected: EXPECTED.correlated,
    repeats: 1,
    warmUpLimit: 20_000,
    sampleRss: true,
    isolated: true,
  },
];

/** Warms the call up, then times `repeats` calls (checking each result); undefined when the contender cannot do the workload. */
export async function measureRelation(workload: RelationWorkload, contender: RelationContender, label?: string): Promise<RelationMeasurement | undefined> {
  const call = workload.call(contender);
  if (!call) return undefined;
  const none = () => undefined;
  const repeats = contender.oneCall ? 1 : workload.repeats;
  if (!contender.oneCall) await call(none, workload.warmUpLimit);
  const rss = new RssPeak();
  const sample = () => rss.sample();
  if (workload.sampleRss) rss.start();
  const { ms, cpuMs } = await timedWithCpu(async () => {
    for (let i = 0; i < repeats; i++) {
      const got = await call(workload.sampleRss ? sample : none, Infinity);
      if (got !== workload.expected) throw new Error(`bench check failed: ${workload.id} ${contender.name} gave ${got}, expected ${workload.expected}`);
    }
  }, label);
  if (contender.oneCall) return { ms: ms * workload.repeats, cpuMs: cpuMs * workload.repeats, estimated: true };
  return { ms, cpuMs, rssMB: workload.sampleRss ? rss.growthMB : undefined };
}
