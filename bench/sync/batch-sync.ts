/**
 * Batch sync (issue 14): `SyncJob` against a hand-written knex loop doing the same work
 * (keyset read by (updated_at, id), map, one `insert … on conflict / on duplicate key
 * update` per page, no checkpoint), on three routes: SQLite file → PostgreSQL, SQLite
 * file → MariaDB, PostgreSQL → MariaDB. Both use pages of 1,000 rows, SyncJob's default.
 * Each run writes into a freshly created target table, analyzed while empty (the state a
 * migration leaves, where a plan costed against the empty table hurts most). Reported per
 * run: total time, the batch time at 10%, 50% and 90% of the run, peak RSS; every copy is
 * compared with its source. Measured at BENCH_SYNC_ROWS rows (default 1,000,000) and at a
 * quarter of that (not with BENCH_SYNC_QUARTER=0).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { SyncJob } from 'polyrecord';
import { RssPeak, collectGarbage } from '../measure.js';
import { JOB_TABLE, KNEX_TABLE, SOURCE_TABLE, SyncBenchCopy, SyncBenchSource, mapSource } from './batch-models.js';
import { SourceCatalog, chooseRoutes, openTarget, type Route, type SyncSource, type SyncTarget } from './batch-routes.js';
import { BATCH_POINTS, FLAT_RATIO, WINDOW_MIN, WINDOW_SHARE, batchDurations, batchProfile } from './batch-times.js';
import { check, envInt, fmt, log, withCleanup, type ExtraResult, type GoalCheck, type ServerUrls } from './support.js';

const ROWS = envInt('BENCH_SYNC_ROWS', 1_000_000);
const SMALL_ROWS = process.env.BENCH_SYNC_QUARTER === '0' ? ROWS : Math.max(1, Math.floor(ROWS / 4));
const WARM_ROWS = Math.min(20_000, ROWS);
/** SyncJob's default batch size (not passed to the job; checked from its batch count), and the knex loop's page. */
const BATCH_SIZE = 1_000;
const RSS_SAMPLE_MS = 20;
const POOL = { min: 0, max: 20 };
export const BATCH_GOAL_RATIO = 1.3;
/**
 * Flat RSS: over the full run, peak RSS growth may exceed the peak reached by the time a
 * quarter of the rows were copied by at most this much, and the heap retained after a
 * full GC must stay under it. (Peaks of two separate runs differ by ±25 MB with GC timing.)
 */
const FLAT_RSS_SLACK_MB = 16;

type Contender = 'SyncJob' | 'knex loop';

interface SyncRun {
  route: Route;
  contender: Contender;
  rows: number;
  ms: number;
  /** Duration of each batch, ms. */
  batchMs: number[];
  /** Peak RSS growth over the run. */
  rssMB: number;
  /** Peak RSS growth by the time a quarter of the rows were copied. */
  rssQuarterMB: number;
  /** Heap used after the run and a full GC, above the heap used at its start. */
  retainedMB: number;
  /** Target rows read by sequential scans during the run (PostgreSQL targets): a per-batch lookup that scans the table shows here. */
  sequentialReads: number | undefined;
}

/** Called after every batch with the rows copied so far. */
type BatchSample = (copied: number) => void;

const TARGET_COLUMNS = ['source_id', 'code', 'name', 'email', 'score', 'amount', 'source_updated_at'] as const;

interface SourceRow {
  id: number;
  code: string;
  name: string;
  email: string;
  score: number;
  amount: number;
  /** ISO text from SQLite, a Date from PostgreSQL. */
  updated_at: string | Date;
}

/**
 * The hand-written copy: keyset pages from the source in (updated_at, id) order with a
 * row-value comparison (an index range scan), mapped to the target's columns and
 * upserted in one statement per page (`on conflict … do update` on PostgreSQL, `on
 * duplicate key update` on MariaDB).
 */
async function knexLoop(source: Knex, target: Knex, onBatch: BatchSample): Promise<number> {
  let after: [string | Date, number] | undefined;
  let copied = 0;
  for (;;) {
    const query = source<SourceRow>(SOURCE_TABLE).select('id', 'code', 'name', 'email', 'score', 'amount', 'updated_at').orderBy([{ column: 'updated_at' }, { column: 'id' }]).limit(BATCH_SIZE);
    if (after) query.whereRaw('(updated_at, id) > (?, ?)', after);
    const rows = (await query) as SourceRow[];
    if (rows.length === 0) break;
    const mapped = rows.map((r) => ({ source_id: r.id, code: r.code, name: r.name, email: r.email, score: r.score, amount: r.amount, source_updated_at: new Date(r.updated_at) }));
    await target(KNEX_TABLE).insert(mapped).onConflict('source_id').merge(TARGET_COLUMNS.filter((c) => c !== 'source_id'));
    copied += rows.length;
    onBatch(copied);
    const last = rows[rows.length - 1]!;
    after = [last.updated_at, last.id];
    if (rows.length < BATCH_SIZE) break;
  }
  return copied;
}

async function syncJobRun(source: SyncSource, target: SyncTarget, rows: number, onBatch: BatchSample): Promise<number> {
  const job = new SyncJob({
    name: `bench-sync-${source.connection}`,
    source: SyncBenchSource.using(source.connection),
    target: SyncBenchCopy.using(target.connection),
    map: mapSource,
    conflictKeys: ['sourceId'],
    watermark: 'updatedAt',
  });
  await job.reset();
  const result = await job.run({ onProgress: (progress) => onBatch(progress.processed) });
  check(result.processed === rows && result.inserted === rows, `SyncJob processed ${result.processed} rows, inserted ${result.inserted}, expected ${rows}`);
  check(result.batches === Math.ceil(rows / BATCH_SIZE), `SyncJob took ${result.batches} batches for ${rows} rows: its default batch size is no longer ${BATCH_SIZE}`);
  return result.processed;
}

/** Timestamps from any driver as the ISO text the SQLite source holds. */
const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));

/**
 * Compares a target table with its source: row count, sums over every column, and 200
 * rows in full. Portable SQL (the data is ASCII, so `length` counts characters
 * everywhere); numbers and timestamps are normalized in JS.
 */
async function verify(source: Knex, target: Knex, table: string, rows: number): Promise<void> {
  const summary = (k: Knex, from: string, columns: { id: string; at: string }) =>
    k
      .select(k.raw(`count(*) AS n, count(DISTINCT ${columns.id}) AS key_count, sum(score) AS score_sum, sum(length(code) + length(name) + length(email)) AS text_len, sum(round(amount * 100)) AS cents, min(${columns.at}) AS lo, max(${columns.at}) AS hi`))
      .from(from)
      .first() as Promise<Record<string, unknown>>;
  const expected = await summary(source, SOURCE_TABLE, { id: 'id', at: 'updated_at' });
  const actual = await summary(target, table, { id: 'source_id', at: 'source_updated_at' });
  for (const field of ['n', 'key_count', 'score_sum', 'text_len', 'cents']) check(Number(expected[field]) === Number(actual[field]), `${table}: ${field} is ${actual[field]}, source has ${expected[field]}`);
  for (const field of ['lo', 'hi']) check(iso(expected[field]) === iso(actual[field]), `${table}: ${field} is ${iso(actual[field])}, source has ${iso(expected[field])}`);
  check(Number(actual.n) === rows && Number(actual.key_count) === rows, `${table}: ${actual.n} rows with ${actual.key_count} keys, expected ${rows}`);

  const step = Math.max(1, Math.floor(rows / 200));
  const ids = Array.from({ length: Math.min(200, rows) }, (_, i) => 1 + i * step);
  const sourceRows = (await source(SOURCE_TABLE).select('id', 'code', 'name', 'email', 'score', 'amount', 'updated_at').whereIn('id', ids).orderBy('id')) as Record<string, unknown>[];
  const copies = (await target(table).select({ id: 'source_id' }, 'code', 'name', 'email', 'score', 'amount', { updated_at: 'source_updated_at' }).whereIn('source_id', ids).orderBy('source_id')) as Record<string, unknown>[];
  const line = (r: Record<string, unknown> = {}) => [Number(r.id), r.code, r.name, r.email, Number(r.score), Number(r.amount), iso(r.updated_at)].join('|');
  check(sourceRows.length === ids.length && copies.length === ids.length, `${table}: ${copies.length} of ${ids.length} sampled rows copied (source has ${sourceRows.length})`);
  sourceRows.forEach((row, i) => check(line(row) === line(copies[i]), `${table}: row ${String(row.id)} differs: ${line(row)} vs ${line(copies[i])}`));
}

/**
 * Times `run`, sampling RSS every few milliseconds and at every batch (`run` calls
 * `sample`) and noting when each batch ended; also the peak reached by a quarter of the
 * rows, and the heap still used after a full GC at the end.
 */
async function measure(route: Route, contender: Contender, run: (sample: BatchSample) => Promise<number>, rows: number, target: SyncTarget): Promise<Omit<SyncRun, 'sequentialReads'>> {
  await target.settle();
  const rss = new RssPeak();
  rss.start();
  const heapBefore = process.memoryUsage().heapUsed;
  let rssQuarterMB: number | undefined;
  const batchEnds: number[] = [];
  const sample = (copied?: number) => {
    rss.sample();
    if (copied === undefined) return;
    batchEnds.push(performance.now());
    if (rssQuarterMB === undefined && copied >= rows / 4) rssQuarterMB = rss.growthMB;
  };
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  const started = performance.now();
  let copied: number;
  try {
    copied = await run(sample);
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - started;
  rss.sample();
  check(copied === rows, `${contender} copied ${copied} of ${rows} rows`);
  collectGarbage();
  const retainedMB = (process.memoryUsage().heapUsed - heapBefore) / (1024 * 1024);
  return { route, contender, rows, ms, batchMs: batchDurations(started, batchEnds), rssMB: rss.growthMB, rssQuarterMB: rssQuarterMB ?? rss.growthMB, retainedMB };
}

const count = (n: number) => n.toLocaleString('en');
const pointLabel = (p: number) => `${Math.round(p * 100)}%`;

/** Per-route goals at the full row count. */
function routeGoals(route: Route, runs: readonly SyncRun[]): GoalCheck[] {
  const find = (contender: Contender, rows: number) => runs.find((r) => r.route === route && r.contender === contender && r.rows === rows);
  const ratioAt = (rows: number) => {
    const job = find('SyncJob', rows);
    const knex = find('knex loop', rows);
    return job && knex ? job.ms / knex.ms : undefined;
  };
  const ratio = ratioAt(ROWS);
  const job = find('SyncJob', ROWS);
  const knex = find('knex loop', ROWS);
  const small = SMALL_ROWS === ROWS ? undefined : ratioAt(SMALL_ROWS);
  const jobProfile = job && batchProfile(job.batchMs);
  const knexProfile = knex && batchProfile(knex.batchMs);
  const figures = (p: { at: number[]; growth: number }) => `${p.at.map((ms, i) => `${fmt.ms(ms)} ms at ${pointLabel(BATCH_POINTS[i]!)}`).join(', ')}: ${fmt.x(p.growth)}`;
  return [
    {
      goal: `${route.label}: SyncJob within ${fmt.x(BATCH_GOAL_RATIO)} of the knex loop's total time at ${count(ROWS)} rows`,
      met: ratio === undefined ? undefined : ratio <= BATCH_GOAL_RATIO,
      detail: ratio === undefined ? 'not measured' : `${fmt.x(ratio)}${small === undefined ? '' : ` (${fmt.x(small)} at ${count(SMALL_ROWS)} rows)`}`,
    },
    {
      goal: `${route.label}: SyncJob's batch time flat at ${count(ROWS)} rows (at 90% of the run at most ${fmt.x(FLAT_RATIO)} the time at 10%)`,
      met: jobProfile ? jobProfile.growth <= FLAT_RATIO : undefined,
      detail: jobProfile ? `SyncJob ${figures(jobProfile)}; knex loop ${knexProfile ? figures(knexProfile) : 'not measured'}` : 'not measured',
    },
    {
      goal: `${route.label}: SyncJob RSS flat in the row count (peak growth over ${count(ROWS)} rows at most ${FLAT_RSS_SLACK_MB} MB above the peak reached by ${count(ROWS / 4)} rows, and under ${FLAT_RSS_SLACK_MB} MB of heap retained after GC)`,
      met: job ? job.rssMB - job.rssQuarterMB <= FLAT_RSS_SLACK_MB && job.retainedMB < FLAT_RSS_SLACK_MB : undefined,
      detail: job ? `peak +${fmt.mb(job.rssQuarterMB)} MB by ${count(ROWS / 4)} rows, +${fmt.mb(job.rssMB)} MB over ${count(ROWS)}, ${fmt.mb(job.retainedMB)} MB retained` : 'not measured',
    },
  ];
}

export async function benchBatchSync(urls: ServerUrls): Promise<ExtraResult> {
  const routes = chooseRoutes(urls, process.env.BENCH_SYNC_ROUTES);
  const sizes = [...new Set([SMALL_ROWS, ROWS])];
  const title = `Batch sync, SyncJob vs a knex loop (${sizes.map(count).join(' and ')} rows, batches of ${count(BATCH_SIZE)})`;
  if (routes.run.length === 0) {
    return { title, notes: [`Every route skipped: ${routes.skipped.join('; ')}.`], columns: ['Route'], rows: [], goals: [] };
  }
  return withCleanup(async (defer) => {
    const dir = mkdtempSync(join(tmpdir(), 'polyrecord-bench-x-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const sources = new SourceCatalog(urls, dir, defer);
    const targets = new Map<string, SyncTarget>();
    const targetFor = async (route: Route) => {
      let target = targets.get(route.target);
      if (!target) targets.set(route.target, (target = await openTarget(route.target, urls, POOL, defer)));
      return target;
    };
    log(`\nbatch-sync: routes ${routes.run.map((r) => r.id).join(', ')}${routes.skipped.length ? `; ${routes.skipped.join('; ')}` : ''}`);

    const runOne = async (route: Route, contender: Contender, rows: number): Promise<SyncRun> => {
      const source = await sources.get(route.source, rows);
      const target = await targetFor(route);
      const table = contender === 'SyncJob' ? JOB_TABLE : KNEX_TABLE;
      await target.createTable(table);
      const measured = await measure(route, contender, (sample) => (contender === 'SyncJob' ? syncJobRun(source, target, rows, sample) : knexLoop(source.knex, target.knex, sample)), rows, target);
      const result = { ...measured, sequentialReads: await target.sequentialReads(table) };
      await verify(source.knex, target.knex, table, rows);
      await target.knex.schema.dropTable(table);
      return result;
    };

    const runs: SyncRun[] = [];
    const order: Contender[][] = [['SyncJob', 'knex loop'], ['knex loop', 'SyncJob']];
    let turn = 0;
    for (const route of routes.run) {
      // Warm-up on a small source for each route (JIT, pools, statements of that dialect pair), then the measured runs in alternating order.
      await runOne(route, 'knex loop', WARM_ROWS);
      await runOne(route, 'SyncJob', WARM_ROWS);
      for (const rows of sizes) {
        for (const contender of order[turn++ % 2]!) {
          const run = await runOne(route, contender, rows);
          runs.push(run);
          const profile = batchProfile(run.batchMs);
          log(
            `  ${route.id.padEnd(12)} ${contender.padEnd(9)} ${count(rows).padStart(9)} rows: ${fmt.s(run.ms)} s, ${fmt.int(rows / (run.ms / 1000))} rows/s, batch ${profile.at.map(fmt.ms).join(' / ')} ms (${fmt.x(profile.growth)}), peak RSS +${fmt.mb(run.rssMB)} MB (+${fmt.mb(run.rssQuarterMB)} by ¼), heap retained ${fmt.mb(run.retainedMB)} MB${run.sequentialReads === undefined ? '' : `, ${fmt.int(run.sequentialReads)} target rows read by sequential scans`}; verified`,
          );
        }
      }
    }

    const ratioOf = (run: SyncRun) => {
      const knex = runs.find((r) => r.route === run.route && r.rows === run.rows && r.contender === 'knex loop');
      return run.contender === 'SyncJob' && knex ? fmt.x(run.ms / knex.ms) : '';
    };
    const goals: GoalCheck[] = [
      ...routes.run.flatMap((route) => routeGoals(route, runs)),
      { goal: 'every target table equal to its source (row count, column sums, 200 rows compared in full)', met: true, detail: `${runs.length} measured runs verified, warm-ups too` },
    ];
    return {
      title,
      notes: [
        `Routes: ${routes.run.map((r) => r.label).join(', ')}.${routes.skipped.length ? ` Skipped: ${routes.skipped.join('; ')}.` : ''}`,
        `Sources, seeded once: ${sources.seeded.join('; ')}. The same rows everywhere; watermark \`updated_at\` (ms, not in id order, two rows per value; ISO text on SQLite, timestamptz(3) on PostgreSQL) indexed on (updated_at, id). Target: a freshly created table per run with a unique \`source_id\`, analyzed while empty (\`VACUUM ANALYZE\` / \`ANALYZE TABLE\`) as a migration leaves it, for both contenders.`,
        `SyncJob: default batchSize (${count(BATCH_SIZE)}), watermark updatedAt, conflictKeys ['sourceId'], checkpoint on the target connection, countTotal on. knex loop: keyset read \`(updated_at, id) > (?, ?)\` ordered by (updated_at, id), limit ${count(BATCH_SIZE)}, then one \`insert … onConflict('source_id').merge()\` per page (\`on conflict … do update\` / \`on duplicate key update\`); no checkpoint. Pool max ${POOL.max}.`,
        `Batch time: each batch's duration (between SyncJob's onProgress calls, between the loop's pages; the first from the start of the run), reported as the median over a window of ${fmt.pct(WINDOW_SHARE)} of the batches (at least ${WINDOW_MIN}) centred at ${BATCH_POINTS.map(pointLabel).join(', ')} of the run. Flat: the 90% figure at most ${fmt.x(FLAT_RATIO)} the 10% figure.`,
        `Peak RSS growth: process RSS sampled every ${RSS_SAMPLE_MS} ms and after every batch, above the RSS right after a full GC at the start (V8 keeps heap pages from earlier runs, so a run that fits in them shows ~0); also the peak reached by the time a quarter of the rows were copied, and the heap still used after a full GC at the end. A ${count(WARM_ROWS)}-row warm-up of both contenders ran first on each route; CHECKPOINT on a PostgreSQL target before each run; order alternates.`,
        `Target rows read by seq scans: \`seq_tup_read\` of the target table in pg_stat_user_tables after the run (PostgreSQL targets; n/a on MariaDB). A per-batch key lookup that reads the table instead of its unique index shows here, whichever the cause (a stale generic plan, or costs).`,
      ],
      columns: ['Route', 'Rows', 'Contender', 'Seconds', 'Rows/s', 'SyncJob / knex', ...BATCH_POINTS.map((p) => `Batch ms at ${pointLabel(p)}`), '90% / 10%', 'Peak RSS growth, MB', 'by ¼ of the rows, MB', 'Heap retained after GC, MB', 'Target rows read by seq scans'],
      rows: runs.map((run) => {
        const profile = batchProfile(run.batchMs);
        return [run.route.label, count(run.rows), run.contender, fmt.s(run.ms), fmt.int(run.rows / (run.ms / 1000)), ratioOf(run), ...profile.at.map(fmt.ms), fmt.x(profile.growth), fmt.mb(run.rssMB), fmt.mb(run.rssQuarterMB), fmt.mb(run.retainedMB), run.sequentialReads === undefined ? 'n/a' : fmt.int(run.sequentialReads)];
      }),
      goals,
    };
  });
}
