import { checkGoals } from './goals.js';
import { roundRatioRange } from './measure.js';
import { geometricMean, preparedRatio, ratio, type DialectResult } from './results.js';

const ms = (value: number | undefined) => (value === undefined ? '–' : value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en'));
const times = (value: number | undefined) => (value === undefined ? '–' : `${value.toFixed(2)}x`);
const mb = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(1));
/** The lowest and highest round-by-round ratio (see {@link roundRatioRange}); `–` with a single round. */
export const ratioRange = (value: [number, number] | undefined) => (value === undefined ? '–' : `${value[0].toFixed(2)}–${value[1].toFixed(2)}x`);

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

const MODE_NOTE = {
  warm: (rounds = 1) => (rounds > 1 ? `warm: each contender warmed up, then ${rounds} long timed runs interleaved with the other contenders'; its median run` : 'warm: each contender alone, after a warm-up, one long timed run'),
  cold: () => 'cold: all contenders on one table, short runs, calls interleaved in turns of 10 (W2: 1) after 20 warm-up calls (W2: 2); W4–W6 run once per contender without a warm-up',
};

/** One dialect's results as a Markdown table (readable as text too), followed by the goal checks. */
export function renderDialect(result: DialectResult): string {
  const others = result.contenders.filter((name) => name !== 'raw');
  const versusPrepared = result.contenders.includes('prepared') && result.contenders.includes('polyrecord');
  // Warm rounds ran knex and polyrecord next to each other: the spread of their round-by-round ratio shows how far the medians can be trusted.
  const spread = result.mode === 'warm' && (result.rounds ?? 1) > 1 && result.contenders.includes('knex') && result.contenders.includes('polyrecord');
  const header = ['Workload', 'raw ms', ...others.flatMap((name) => [`${name} ms`, `${name} / raw`]), ...(versusPrepared ? ['polyrecord / prepared'] : []), ...(spread ? ['polyrecord / knex by round'] : [])];
  const blanks = (versusPrepared ? [''] : []).concat(spread ? [''] : []);
  const lines = [
    `### ${result.label} (${result.version}), ${result.mode}`,
    '',
    `(${MODE_NOTE[result.mode](result.rounds)}${result.runs && result.runs > 1 ? `; each workload: the median of ${result.runs} runs in fresh processes, by polyrecord's ratio` : ''}; ${versusPrepared ? '`raw` sends unnamed statements, `prepared` names them' : '`raw` runs prepared statements here'})`,
    '',
    row(header),
    row(header.map((_, i) => (i === 0 ? '---' : '---:'))),
  ];
  for (const r of result.workloads) {
    lines.push(row([`${r.workload.id} ${r.title}`, ms(r.by.raw?.ms), ...others.flatMap((name) => [ms(r.by[name]?.ms), times(ratio(r, name))]), ...(versusPrepared ? [times(preparedRatio(r, result.dialect))] : []), ...(spread ? [ratioRange(roundRatioRange(r.by.polyrecord, r.by.knex))] : [])]));
  }
  const ids = result.workloads.filter((r) => r.workload.inMean).map((r) => r.workload.id);
  lines.push(row([`**Geometric mean of ratios (${ids.length === 7 ? 'W1–W7' : ids.join(',')})**`, '', ...others.flatMap((name) => ['', `**${times(geometricMean(result.workloads, name))}**`]), ...blanks]));
  const w6 = result.workloads.find((r) => r.workload.id === 'W6');
  if (w6) lines.push(row(['W6 peak RSS growth, MB', mb(w6.by.raw?.rssMB), ...others.flatMap((name) => [mb(w6.by[name]?.rssMB), '']), ...blanks]));
  lines.push('');
  for (const check of checkGoals(result)) {
    const mark = check.met === undefined ? 'n/a' : check.met ? 'met' : 'NOT met';
    lines.push(`- ${check.goal}: **${mark}** (${check.detail})`);
  }
  return lines.join('\n');
}
