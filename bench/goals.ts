import type { Dialect } from './options.js';
import { geometricMean, preparedMs, ratio, type DialectResult } from './results.js';

/** The issues' targets for polyrecord. */
export const GOALS = {
  geometricMean: { sqlite: 1.3, postgresql: 1.15, mysql: 1.15 } as Record<Dialect, number>,
  worstRatio: 2,
  rssMB: 50,
  /** Issue 14: the single-call workloads against the raw driver with prepared statements, in either mode. */
  perCall: {
    sqlite: { workloads: ['W1', 'W3', 'W7'], limit: 1.5 },
    postgresql: { workloads: ['W1', 'W7'], limit: 1.1 },
    mysql: { workloads: ['W1', 'W7'], limit: 1.1 },
  } as Record<Dialect, { workloads: readonly string[]; limit: number }>,
};

export interface GoalCheck {
  readonly goal: string;
  /** Undefined when the run did not measure what the goal needs. */
  readonly met: boolean | undefined;
  readonly detail: string;
}

const x = (n: number) => `${n.toFixed(2)}x`;

/** Which of the issue's goals this dialect's run meets. */
export function checkGoals(result: DialectResult): GoalCheck[] {
  const rows = result.workloads;
  const checks: GoalCheck[] = [];

  const compared = rows.filter((r) => r.by.knex && r.by.polyrecord);
  const slower = compared.filter((r) => r.by.polyrecord!.ms >= r.by.knex!.ms);
  checks.push({
    goal: 'polyrecord faster than plain knex on every workload',
    met: compared.length ? slower.length === 0 : undefined,
    detail: slower.length ? `not on ${slower.map((r) => `${r.workload.id} (${x(r.by.polyrecord!.ms / r.by.knex!.ms)} knex)`).join(', ')}` : `on ${compared.length} of ${compared.length}`,
  });

  const limit = GOALS.geometricMean[result.dialect]!;
  const mean = geometricMean(rows, 'polyrecord');
  checks.push({
    goal: `geometric mean at most ${x(limit)} raw`,
    met: mean === undefined ? undefined : mean <= limit,
    detail: mean === undefined ? 'not measured' : `${x(mean)} over ${rows.filter((r) => r.workload.inMean).map((r) => r.workload.id).join(',')}`,
  });

  const ratios = rows.map((r) => ({ id: r.workload.id, value: ratio(r, 'polyrecord') })).filter((r): r is { id: string; value: number } => r.value !== undefined);
  const over = ratios.filter((r) => r.value > GOALS.worstRatio);
  checks.push({
    goal: `no workload above ${x(GOALS.worstRatio)} raw`,
    met: ratios.length ? over.length === 0 : undefined,
    detail: over.length ? `above on ${over.map((r) => `${r.id} (${x(r.value)})`).join(', ')}` : ratios.length ? `worst ${x(Math.max(...ratios.map((r) => r.value)))}` : 'not measured',
  });

  const perCall = GOALS.perCall[result.dialect];
  const calls = perCall.workloads.flatMap((id) => {
    const r = rows.find((row) => row.workload.id === id);
    const base = r && preparedMs(r, result.dialect);
    const ms = r?.by.polyrecord?.ms;
    return base === undefined || ms === undefined ? [] : [{ id, value: ms / base }];
  });
  checks.push({
    goal: `${perCall.workloads.join(', ')} each at most ${x(perCall.limit)} the prepared raw driver`,
    met: calls.length === perCall.workloads.length ? calls.every((c) => c.value <= perCall.limit) : undefined,
    detail: calls.length ? calls.map((c) => `${c.id} ${x(c.value)}`).join(', ') : 'not measured',
  });

  const rss = rows.find((r) => r.workload.id === 'W6')?.by.polyrecord?.rssMB;
  checks.push({
    goal: `W6 RSS growth under ${GOALS.rssMB} MB`,
    met: rss === undefined ? undefined : rss < GOALS.rssMB,
    detail: rss === undefined ? 'not measured' : `${rss.toFixed(1)} MB`,
  });
  return checks;
}
