/**
 * Batch sync: a SQLite file source table copied into PostgreSQL by `SyncJob`, against a
 * hand-written knex loop doing the same work (keyset read by (updated_at, id), map,
 * `insert … on conflict (source_id) merge` into PostgreSQL, no checkpoint). Each run
 * writes into a freshly created target table. Measured at BENCH_SYNC_ROWS rows
 * (default 1,000,000) and at a quarter of that, to show that peak RSS does not grow
 * with the row count.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import createKnex, { type Knex } from 'knex';
import { ConnectionManager, SyncJob } from 'polyrecord';
import { RssPeak, collectGarbage } from '../measure.js';
import { JOB_TABLE, KNEX_TABLE, SOURCE_TABLE, SYNC_TARGET, SyncBenchCopy, SyncBenchSource, createTargetTable, mapSource, seedSqliteSource } from './batch-models.js';
import { check, envInt, fmt, freshPostgres, log, withCleanup, type ExtraResult, type GoalCheck, type ServerUrls } from './support.js';

const ROWS = envInt('BENCH_SYNC_ROWS', 1_000_000);
const SMALL_ROWS = Math.max(1, Math.floor(ROWS / 4));
const WARM_ROWS = Math.min(20_000, SMALL_ROWS);
const BATCH_SIZE = 5_000;
/** Rows per `insert … on conflict … merge` of the knex loop: the whole batch (35,000 bound values, under PostgreSQL's 65,535). */
const KNEX_CHUNK = 5_000;
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
  contender: Contender;
  rows: number;
  ms: number;
  /** Peak RSS growth over the run. */
  rssMB: number;
  /** Peak RSS growth by the time a quarter of the rows were copied. */
  rssQuarterMB: number;
  /** Heap used after the run and a full GC, above the heap used at its start. */
  retainedMB: number;
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
  updated_at: string;
}

/**
 * The hand-written copy: keyset pages from SQLite in (updated_at, id) order with a
 * row-value comparison (an index range scan), mapped to the target's columns and
 * upserted into PostgreSQL, one statement per `KNEX_CHUNK` rows (one transaction per
 * batch when a batch takes several statements).
 */
async function knexLoop(sourceFile: string, target: Knex, onBatch: BatchSample): Promise<number> {
  const source = createKnex({ client: 'better-sqlite3', connection: { filename: sourceFile }, useNullAsDefault: true });
  try {
    let after: [string, number] | undefined;
    let copied = 0;
    for (;;) {
      const query = source<SourceRow>(SOURCE_TABLE).select('id', 'code', 'name', 'email', 'score', 'amount', 'updated_at').orderBy([{ column: 'updated_at' }, { column: 'id' }]).limit(BATCH_SIZE);
      if (after) query.whereRaw('(updated_at, id) > (?, ?)', after);
      const rows = (await query) as SourceRow[];
      if (rows.length === 0) break;
      const mapped = rows.map((r) => ({ source_id: r.id, code: r.code, name: r.name, email: r.email, score: r.score, amount: r.amount, source_updated_at: r.updated_at }));
      const upsert = (db: Knex | Knex.Transaction, part: typeof mapped) => db(KNEX_TABLE).insert(part).onConflict('source_id').merge(TARGET_COLUMNS.filter((c) => c !== 'source_id'));
      if (mapped.length <= KNEX_CHUNK) await upsert(target, mapped);
      else {
        await target.transaction(async (trx) => {
          for (let start = 0; start < mapped.length; start += KNEX_CHUNK) await upsert(trx, mapped.slice(start, start + KNEX_CHUNK));
        });
      }
      copied += rows.length;
      onBatch(copied);
      const last = rows[rows.length - 1]!;
      after = [last.updated_at, last.id];
      if (rows.length < BATCH_SIZE) break;
    }
    return copied;
  } finally {
    await source.destroy();
  }
}

async function syncJobRun(sourceConnection: string, rows: number, onBatch: BatchSample): Promise<number> {
  const job = new SyncJob({
    name: `bench-sync-${sourceConnection}`,
    source: SyncBenchSource.using(sourceConnection),
    target: SyncBenchCopy,
    map: mapSource,
    conflictKeys: ['sourceId'],
    watermark: 'updatedAt',
    batchSize: BATCH_SIZE,
  });
  await job.reset();
  const result = await job.run({ onProgress: (progress) => onBatch(progress.processed) });
  check(result.processed === rows && result.inserted === rows, `SyncJob processed ${result.processed} rows, inserted ${result.inserted}, expected ${rows}`);
  return result.processed;
}

/** Compares the target table with the source file: row count, sums over every column, and 200 rows in full. */
async function verify(sourceFile: string, target: Knex, table: string, rows: number): Promise<void> {
  const db = new Database(sourceFile, { readonly: true });
  try {
    const summary = 'count(*) AS n, sum(score) AS score, sum(length(code) + length(name) + length(email)) AS text';
    const expected = db.prepare(`SELECT ${summary}, sum(CAST(round(amount * 100) AS INTEGER)) AS cents, min(updated_at) AS lo, max(updated_at) AS hi FROM ${SOURCE_TABLE}`).get() as Record<string, unknown>;
    const { rows: [actual] } = await target.raw(
      `SELECT ${summary}, sum(round(amount * 100)::bigint) AS cents, to_char(min(source_updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS lo, to_char(max(source_updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS hi, count(DISTINCT source_id) AS keys FROM ${table}`,
    );
    for (const field of ['n', 'score', 'text', 'cents', 'lo', 'hi']) check(String(expected[field]) === String(actual[field]), `${table}: ${field} is ${actual[field]}, source has ${expected[field]}`);
    check(Number(actual.n) === rows && Number(actual.keys) === rows, `${table}: ${actual.n} rows with ${actual.keys} keys, expected ${rows}`);
    const step = Math.max(1, Math.floor(rows / 200));
    const ids = Array.from({ length: Math.min(200, rows) }, (_, i) => 1 + i * step);
    const marks = ids.map(() => '?').join(',');
    const sourceRows = db.prepare(`SELECT id, code, name, email, score, amount, updated_at FROM ${SOURCE_TABLE} WHERE id IN (${marks}) ORDER BY id`).all(...ids) as SourceRow[];
    const { rows: copies } = await target.raw(
      `SELECT source_id AS id, code, name, email, score, amount, to_char(source_updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at FROM ${table} WHERE source_id IN (${marks}) ORDER BY source_id`,
      ids,
    );
    const line = (r: Record<string, unknown>) => ['id', 'code', 'name', 'email', 'score', 'amount', 'updated_at'].map((k) => String(r[k])).join('|');
    sourceRows.forEach((row, i) => check(line(row as never) === line(copies[i] ?? {}), `${table}: row ${row.id} differs: ${line(row as never)} vs ${line(copies[i] ?? {})}`));
  } finally {
    db.close();
  }
}

/**
 * Times `run`, sampling RSS every few milliseconds and at every batch (`run` calls
 * `sample`); also notes the peak reached by a quarter of the rows, and the heap still
 * used after a full GC at the end.
 */
async function measure(contender: Contender, run: (sample: BatchSample) => Promise<number>, rows: number, target: Knex): Promise<SyncRun> {
  await target.raw('CHECKPOINT');
  const rss = new RssPeak();
  rss.start();
  const heapBefore = process.memoryUsage().heapUsed;
  let rssQuarterMB: number | undefined;
  const sample = (copied?: number) => {
    rss.sample();
    if (rssQuarterMB === undefined && copied !== undefined && copied >= rows / 4) rssQuarterMB = rss.growthMB;
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
  return { contender, rows, ms, rssMB: rss.growthMB, rssQuarterMB: rssQuarterMB ?? rss.growthMB, retainedMB };
}

export async function benchBatchSync(urls: ServerUrls): Promise<ExtraResult> {
  if (!urls.pg) throw new Error('the batch-sync benchmark needs POLYRECORD_PG_URL');
  return withCleanup(async (defer) => {
    const dir = mkdtempSync(join(tmpdir(), 'polyrecord-bench-x-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const pgDb = await freshPostgres(urls.pg!);
    defer(() => pgDb.drop());
    ConnectionManager.configure(SYNC_TARGET, { url: pgDb.url, pool: POOL });
    defer(() => ConnectionManager.remove(SYNC_TARGET));
    // The knex loop's target: its own knex instance with the same pool bounds.
    const target = pgDb.knex(POOL);
    defer(() => target.destroy());

    const sizes = [...new Set([WARM_ROWS, SMALL_ROWS, ROWS])];
    const sources = new Map<number, { file: string; connection: string }>();
    const seedStarted = performance.now();
    for (const rows of sizes) {
      const file = join(dir, `source-${rows}.sqlite`);
      seedSqliteSource(file, rows);
      const connection = `xs_src_${rows}`;
      ConnectionManager.configure(connection, { driver: 'sqlite', database: file });
      defer(() => ConnectionManager.remove(connection));
      sources.set(rows, { file, connection });
    }
    const seedMs = performance.now() - seedStarted;
    log(`\nbatch-sync: seeded SQLite sources of ${sizes.map((n) => n.toLocaleString('en')).join(', ')} rows in ${fmt.s(seedMs)} s`);

    const runOne = async (contender: Contender, rows: number): Promise<SyncRun> => {
      const { file, connection } = sources.get(rows)!;
      const table = contender === 'SyncJob' ? JOB_TABLE : KNEX_TABLE;
      await createTargetTable(target, table);
      const result = await measure(contender, (sample) => (contender === 'SyncJob' ? syncJobRun(connection, rows, sample) : knexLoop(file, target, sample)), rows, target);
      await verify(file, target, table, rows);
      await target.schema.dropTable(table);
      return result;
    };

    // Warm-up on a small source: JIT, pools, compiled statements, then the measured runs in alternating order.
    await runOne('knex loop', WARM_ROWS);
    await runOne('SyncJob', WARM_ROWS);
    const runs: SyncRun[] = [];
    const order: Contender[][] = [['SyncJob', 'knex loop'], ['knex loop', 'SyncJob']];
    for (const [index, rows] of [...new Set([SMALL_ROWS, ROWS])].entries()) {
      for (const contender of order[index % 2]!) {
        const run = await runOne(contender, rows);
        runs.push(run);
        log(`  ${contender.padEnd(9)} ${rows.toLocaleString('en').padStart(9)} rows: ${fmt.s(run.ms)} s, ${fmt.int(rows / (run.ms / 1000))} rows/s, peak RSS +${fmt.mb(run.rssMB)} MB (+${fmt.mb(run.rssQuarterMB)} by ¼), heap retained ${fmt.mb(run.retainedMB)} MB; verified`);
      }
    }

    const find = (contender: Contender, rows: number) => runs.find((r) => r.contender === contender && r.rows === rows);
    const ratioAt = (rows: number) => {
      const job = find('SyncJob', rows);
      const knex = find('knex loop', rows);
      return job && knex ? job.ms / knex.ms : undefined;
    };
    const ratio = ratioAt(ROWS);
    const bigJob = find('SyncJob', ROWS);
    const smallJob = SMALL_ROWS === ROWS ? undefined : find('SyncJob', SMALL_ROWS);
    const goals: GoalCheck[] = [
      {
        goal: `SyncJob within ${fmt.x(BATCH_GOAL_RATIO)} of the knex loop's time at ${ROWS.toLocaleString('en')} rows`,
        met: ratio === undefined ? undefined : ratio <= BATCH_GOAL_RATIO,
        detail: ratio === undefined ? 'not measured' : `${fmt.x(ratio)}${SMALL_ROWS === ROWS ? '' : ` (${fmt.x(ratioAt(SMALL_ROWS)!)} at ${SMALL_ROWS.toLocaleString('en')} rows)`}`,
      },
      {
        goal: `SyncJob RSS flat in the row count (at ${ROWS.toLocaleString('en')} rows: peak growth at most ${FLAT_RSS_SLACK_MB} MB above the peak reached by ${(ROWS / 4).toLocaleString('en')} rows, and under ${FLAT_RSS_SLACK_MB} MB of heap retained after GC)`,
        met: bigJob ? bigJob.rssMB - bigJob.rssQuarterMB <= FLAT_RSS_SLACK_MB && bigJob.retainedMB < FLAT_RSS_SLACK_MB : undefined,
        detail: bigJob
          ? `peak +${fmt.mb(bigJob.rssQuarterMB)} MB by ${(ROWS / 4).toLocaleString('en')} rows, +${fmt.mb(bigJob.rssMB)} MB over ${ROWS.toLocaleString('en')}, ${fmt.mb(bigJob.retainedMB)} MB retained${smallJob ? `; separate ${SMALL_ROWS.toLocaleString('en')}-row run peaked at +${fmt.mb(smallJob.rssMB)} MB` : ''}`
          : 'not measured',
      },
      { goal: 'every target table equal to its source (row count, column sums, 200 rows compared in full)', met: true, detail: `${runs.length} runs verified` },
    ];
    return {
      title: `Batch sync, SQLite file → PostgreSQL (${ROWS.toLocaleString('en')} and ${SMALL_ROWS.toLocaleString('en')} rows)`,
      notes: [
        `Source: SQLite files seeded with better-sqlite3 directly (${fmt.s(seedMs)} s), watermark \`updated_at\` (ISO text, ms, not in id order, two rows per value) indexed on (updated_at, id). Target: a freshly created PostgreSQL table per run, unique \`source_id\`.`,
        `SyncJob: batchSize ${BATCH_SIZE.toLocaleString('en')}, watermark updatedAt, conflictKeys ['sourceId'], checkpoint on the target connection (defaults otherwise, countTotal on). knex loop: keyset read \`(updated_at, id) > (?, ?)\` ordered by (updated_at, id), limit ${BATCH_SIZE.toLocaleString('en')}, then \`insert … onConflict('source_id').merge()\` of ${KNEX_CHUNK.toLocaleString('en')} rows per statement; no checkpoint. Pool max ${POOL.max}.`,
        `Peak RSS growth: process RSS sampled every ${RSS_SAMPLE_MS} ms and after every batch, above the RSS right after a full GC at the start (V8 keeps heap pages from earlier runs, so a run that fits in them shows ~0); also the peak reached by the time a quarter of the rows were copied, and the heap still used after a full GC at the end. A ${WARM_ROWS.toLocaleString('en')}-row warm-up of both ran first; CHECKPOINT on PostgreSQL before each run; order alternates.`,
      ],
      columns: ['Rows', 'Contender', 'Seconds', 'Rows/s', 'SyncJob / knex', 'Peak RSS growth, MB', 'by ¼ of the rows, MB', 'Heap retained after GC, MB'],
      rows: runs
        .slice()
        .sort((a, b) => a.rows - b.rows || a.contender.localeCompare(b.contender))
        .map((run) => [fmt.int(run.rows), run.contender, fmt.s(run.ms), fmt.int(run.rows / (run.ms / 1000)), run.contender === 'SyncJob' ? fmt.x(ratioAt(run.rows) ?? NaN) : '', fmt.mb(run.rssMB), fmt.mb(run.rssQuarterMB), fmt.mb(run.retainedMB)]),
      goals,
    };
  });
}
