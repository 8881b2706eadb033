import type { RelationContenderName } from './contender.js';
import type { RelationMeasurement, RelationWorkload } from './workloads.js';

/** The relation goals of issue 8. */
export const RELATION_GOALS = { versusKnex: 1.1, rssMB: 100 } as const;

export interface RelationResult {
  readonly workload: RelationWorkload;
  readonly by: Partial<Record<RelationContenderName, RelationMeasurement>>;
}

const ms = (value: number | undefined) => (value === undefined ? '–' : value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en'));
const x = (value: number | undefined) => (value === undefined ? '–' : `${value.toFixed(2)}x`);
const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
const over = (r: RelationResult, name: RelationContenderName) => (r.by.polyrecord && r.by[name] ? r.by.polyrecord.ms / r.by[name].ms : undefined);

/** One dialect's relation workloads as a Markdown table, then the goal lines. */
export function renderRelations(label: string, results: readonly RelationResult[]): string {
  const header = ['Workload', 'raw ms', 'knex ms', 'objection ms', 'polyrecord ms', 'polyrecord / knex', 'polyrecord / objection', 'polyrecord RSS +MB'];
  const lines = [`### ${label}, relations (warm)`, '', row(header), row(header.map((_, i) => (i === 0 ? '---' : '---:')))];
  for (const r of results) {
    const rss = r.by.polyrecord?.rssMB;
    lines.push(row([`${r.workload.id} ${r.workload.title}`, ms(r.by.raw?.ms), ms(r.by.knex?.ms), ms(r.by.objection?.ms), ms(r.by.polyrecord?.ms), x(over(r, 'knex')), x(over(r, 'objection')), rss === undefined ? '' : rss.toFixed(1)]));
  }
  lines.push('');
  const versusKnex = results.map((r) => ({ id: r.workload.id, value: over(r, 'knex') })).filter((r): r is { id: string; value: number } => r.value !== undefined);
  const slow = versusKnex.filter((r) => r.value > RELATION_GOALS.versusKnex);
  lines.push(`- every R workload within ${x(RELATION_GOALS.versusKnex)} of hand-written knex: **${versusKnex.length === 0 ? 'n/a' : slow.length ? 'NOT met' : 'met'}** (${versusKnex.map((r) => `${r.id} ${x(r.value)}`).join(', ')})`);
  const versusObjection = results.map((r) => ({ id: r.workload.id, value: over(r, 'objection') })).filter((r): r is { id: string; value: number } => r.value !== undefined);
  const mark = versusObjection.length === 0 ? 'n/a' : versusObjection.every((r) => r.value < 1) ? 'met' : 'NOT met';
  lines.push(`- faster than Objection (withGraphFetched, relatedQuery count): **${mark}** (${versusObjection.map((r) => `${r.id} ${x(r.value)}`).join(', ')}; Objection has no R2, no cross-database relations, and no R5, no in-memory join)`);
  lines.push(`- faster than Lucid's preload: **n/a** (not measured: @adonisjs/lucid needs an Adonis application container)`);
  const rss = results.find((r) => r.workload.sampleRss)?.by.polyrecord?.rssMB;
  lines.push(`- R5 peak RSS growth under ${RELATION_GOALS.rssMB} MB: **${rss === undefined ? 'n/a' : rss < RELATION_GOALS.rssMB ? 'met' : 'NOT met'}** (${rss === undefined ? 'not measured' : `${rss.toFixed(1)} MB`})`);
  return lines.join('\n');
}
