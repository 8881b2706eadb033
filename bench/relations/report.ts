import { roundRatioRange } from '../measure.js';
import { ratioRange } from '../report.js';
import type { RelationContenderName } from './contender.js';
import type { RelationMeasurement, RelationWorkload } from './workloads.js';

/** The relation goals of issue 8. */
export const RELATION_GOALS = { versusKnex: 1.1, rssMB: 100 } as const;

export interface RelationResult {
  readonly workload: RelationWorkload;
  readonly by: Partial<Record<RelationContenderName, RelationMeasurement>>;
}

const ms = (value: number | undefined) => (value === undefined ? '–' : value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en'));
/** A measurement's time; `~` marks one call multiplied by the repeats. */
const timeOf = (m: RelationMeasurement | undefined) => (m?.estimated ? `~${ms(m.ms)}` : ms(m?.ms));
const x = (value: number | undefined) => (value === undefined ? '–' : `${value.toFixed(2)}x`);
const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
/** polyrecord's time over another contender's on one relation workload, when both ran. */
export const relationRatio = (r: RelationResult, name: RelationContenderName) => (r.by.polyrecord && r.by[name] ? r.by.polyrecord.ms / r.by[name].ms : undefined);

/** The goal line "faster than another ORM" over the workloads it has (neither has R2, a cross-database relation, or R5, an in-memory join). */
function fasterThan(results: readonly RelationResult[], name: RelationContenderName, label: string, note = ''): string {
  const ratios = results.map((r) => ({ id: r.workload.id, value: relationRatio(r, name) })).filter((r): r is { id: string; value: number } => r.value !== undefined);
  if (ratios.length === 0) return `- faster than ${label}: **n/a** (not measured in this run)`;
  const mark = ratios.every((r) => r.value < 1) ? 'met' : 'NOT met';
  return `- faster than ${label}: **${mark}** (${ratios.map((r) => `${r.id} ${x(r.value)}`).join(', ')}; it has no R2, no cross-database relations, and no R5, no in-memory join${note})`;
}

/** One dialect's relation workloads as a Markdown table, then the goal lines. */
export function renderRelations(label: string, results: readonly RelationResult[], runs = 1, rounds = 1): string {
  const header = ['Workload', 'raw ms', 'knex ms', 'objection ms', 'lucid ms', 'polyrecord ms', 'polyrecord / knex', 'polyrecord / knex by round', 'polyrecord / objection', 'polyrecord / lucid', 'polyrecord RSS +MB'];
  const interleaved = rounds > 1 ? `, each contender's median of ${rounds} runs interleaved with the others' (RSS: the largest)` : '';
  const of = `${interleaved}${runs > 1 ? `, each workload the median of ${runs} fresh processes` : ''}`;
  const lines = [`### ${label}, relations (warm${of})`, '', row(header), row(header.map((_, i) => (i === 0 ? '---' : '---:')))];
  for (const r of results) {
    const rss = r.by.polyrecord?.rssMB;
    lines.push(row([`${r.workload.id} ${r.workload.title}`, timeOf(r.by.raw), timeOf(r.by.knex), timeOf(r.by.objection), timeOf(r.by.lucid), timeOf(r.by.polyrecord), x(relationRatio(r, 'knex')), ratioRange(roundRatioRange(r.by.polyrecord, r.by.knex)), x(relationRatio(r, 'objection')), x(relationRatio(r, 'lucid')), rss === undefined ? '' : rss.toFixed(1)]));
  }
  lines.push('');
  const versusKnex = results.map((r) => ({ id: r.workload.id, value: relationRatio(r, 'knex') })).filter((r): r is { id: string; value: number } => r.value !== undefined);
  const slow = versusKnex.filter((r) => r.value > RELATION_GOALS.versusKnex);
  lines.push(`- every R workload within ${x(RELATION_GOALS.versusKnex)} of hand-written knex: **${versusKnex.length === 0 ? 'n/a' : slow.length ? 'NOT met' : 'met'}** (${versusKnex.map((r) => `${r.id} ${x(r.value)}`).join(', ')})`);
  lines.push(fasterThan(results, 'objection', 'Objection (withGraphFetched, relatedQuery count)'));
  lines.push(fasterThan(results, 'lucid', 'Lucid (preload, withCount)', '; `~`: one call × 20, R3 not run: its preloader tests every child against every parent'));
  const rss = results.find((r) => r.workload.sampleRss)?.by.polyrecord?.rssMB;
  lines.push(`- R5 peak RSS growth under ${RELATION_GOALS.rssMB} MB: **${rss === undefined ? 'n/a' : rss < RELATION_GOALS.rssMB ? 'met' : 'NOT met'}** (${rss === undefined ? 'not measured' : `${rss.toFixed(1)} MB`})`);
  return lines.join('\n');
}
