import { geometricMean, ratio, type DialectResult } from './results.js';

/** The issue's targets for polyrecord. */
export const GOALS = {
  geometricMean: { sqlite: 1.3, postgresql: 1.15, mysql: 1.15 } as Record<string, number>,
  worstRatio: 2,
  rssMB: 50,
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

  const rss = rows.find((r) => r.workload.id === 'W6')?.by.polyrecord?.rssMB;
  checks.push({
    goal: `W6 RSS growth under ${GOALS.rssMB} MB`,
    met: rss === undefined ? undefined : rss < GOALS.rssMB,
    detail: rss === undefined ? 'not measured' : `${rss.toFixed(1)} MB`,
  });
  return checks;
}
