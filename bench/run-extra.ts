/**
 * The sync and cross-database benchmarks, printed as Markdown tables:
 *
 * - outbox: OutboxRelay throughput, PostgreSQL outbox → MariaDB @SyncTo copy (bench/sync/outbox.ts);
 * - batch-sync: SyncJob vs a hand-written knex copy loop, SQLite file → PostgreSQL, SQLite file → MariaDB and
 *   PostgreSQL → MariaDB, total and per-batch time (bench/sync/batch-sync.ts);
 * - cross-db: CrossDbTransaction.run vs two local transactions, PostgreSQL + MariaDB (bench/cross-db/transfer.ts);
 * - resilience: what a circuit breaker and limits cost a find, and how fast a call fails while the breaker is open (bench/resilience/resilience.ts);
 * - replicas: read throughput with the primary alone and with a streaming standby, and with read-your-writes (bench/resilience/replicas.ts;
 *   needs POLYRECORD_PG_REPLICA_URL from `scripts/replicas.sh env`);
 * - brokers: PostgreSQL outbox → NATS JetStream / RabbitMQ → MariaDB inbox, events/s with 1, 2 and 4 relays and
 *   consumers and p50/p99 latency at a steady rate (bench/brokers/brokers.ts; needs POLYRECORD_NATS_URL and POLYRECORD_AMQP_URL too).
 *
 * Each runs only when the servers it needs are given: POLYRECORD_PG_URL and POLYRECORD_MYSQL_URL
 * (outbox, cross-db); batch-sync runs each route whose servers are set and names the others. Each
 * creates fresh databases named `polyrecord_bench_x_<pid>…` and drops them at the end.
 *
 * - `BENCH_EXTRA=outbox,batch-sync,cross-db,resilience,replicas,brokers`: which benchmarks (default: every one whose servers are set).
 * - `BENCH_SYNC_ROWS=1000000`: rows of the batch-sync source; runs at a quarter of it too, except with `BENCH_SYNC_QUARTER=0`.
 * - `BENCH_SYNC_ROUTES=sqlite-pg,sqlite-mysql,pg-mysql`: which batch-sync routes (default: every one whose servers are set).
 * - `BENCH_OUTBOX_RECORDS=5000`: records of the outbox backlog (4 events each).
 * - `BENCH_BROKERS_RECORDS=6000`: records of the brokers backlog (4 events each); `BENCH_BROKERS_RATE=1000`,
 *   `BENCH_BROKERS_LOW_RATE=100` and `BENCH_BROKERS_LATENCY_S=10`: the latency runs' steady rates and length. Default timeout 900 s.
 * - `BENCH_EXTRA_TIMEOUT_S=300`: a benchmark still running after this long is reported as failed
 *   (its databases are dropped) and the process exits at the end instead of waiting for it.
 *   Default 300 s; batch-sync's own default is 1,200 s (three routes of 1,000,000 rows).
 *
 * Build and run:
 *   npm run build --silent && npx tsc -p tsconfig.run.json && \
 *   POLYRECORD_PG_URL=postgres://postgres@127.0.0.1:5432/test POLYRECORD_MYSQL_URL=mysql://root@127.0.0.1:3306/test \
 *   node --expose-gc .build/bench/run-extra.js
 */
import { cpus, totalmem } from 'node:os';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { benchBrokers } from './brokers/brokers.js';
import { benchCrossDb } from './cross-db/transfer.js';
import { benchReplicas } from './resilience/replicas.js';
import { benchResilience } from './resilience/resilience.js';
import { benchBatchSync } from './sync/batch-sync.js';
import { benchOutbox } from './sync/outbox.js';
import { SERVER_VARIABLES, dropLeftovers, envInt, log, type ExtraResult, type ServerUrls } from './sync/support.js';

interface Benchmark {
  readonly id: string;
  readonly needs: ReadonlyArray<keyof ServerUrls>;
  /** Default of BENCH_EXTRA_TIMEOUT_S for this benchmark, seconds (300 when absent). */
  readonly timeoutS?: number;
  run(urls: ServerUrls): Promise<ExtraResult>;
}

const BENCHMARKS: readonly Benchmark[] = [
  { id: 'outbox', needs: ['pg', 'mysql'], run: benchOutbox },
  // Its routes need different servers: it picks those it can run and names the others.
  { id: 'batch-sync', needs: [], timeoutS: 1_200, run: benchBatchSync },
  { id: 'cross-db', needs: ['pg', 'mysql'], run: benchCrossDb },
  { id: 'resilience', needs: ['pg'], run: benchResilience },
  { id: 'replicas', needs: ['pg', 'pgReplica'], run: benchReplicas },
  { id: 'brokers', needs: ['pg', 'mysql', 'nats', 'amqp'], timeoutS: 900, run: benchBrokers },
];


function chosen(urls: ServerUrls): { run: Benchmark[]; skipped: string[] } {
  const asked = process.env.BENCH_EXTRA?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const id of asked ?? []) {
    if (!BENCHMARKS.some((b) => b.id === id)) throw new Error(`BENCH_EXTRA: unknown benchmark "${id}"; use ${BENCHMARKS.map((b) => b.id).join(', ')}`);
  }
  const run: Benchmark[] = [];
  const skipped: string[] = [];
  for (const benchmark of BENCHMARKS) {
    if (asked && !asked.includes(benchmark.id)) continue;
    const missing = benchmark.needs.filter((server) => !urls[server]);
    if (missing.length === 0) run.push(benchmark);
    else {
      const reason = `${benchmark.id}: skipped, set ${missing.map((s) => SERVER_VARIABLES[s]).join(' and ')}`;
      if (asked) throw new Error(`BENCH_EXTRA includes ${reason}`);
      skipped.push(reason);
    }
  }
  return { run, skipped };
}

async function serverVersions(urls: ServerUrls): Promise<string[]> {
  const versions: string[] = [];
  if (urls.pg) {
    const client = new pg.Client({ connectionString: urls.pg });
    await client.connect();
    try {
      const { rows } = await client.query("select current_setting('server_version') as v, current_setting('max_prepared_transactions') as p, current_setting('synchronous_commit') as s");
      versions.push(`PostgreSQL ${rows[0].v} (max_prepared_transactions ${rows[0].p}, synchronous_commit ${rows[0].s})`);
    } finally {
      await client.end();
    }
  }
  if (urls.mysql) {
    const connection = await mysql.createConnection(urls.mysql);
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('select version() as v, @@innodb_flush_log_at_trx_commit as f');
      versions.push(`MariaDB/MySQL ${rows[0]!.v} (innodb_flush_log_at_trx_commit ${rows[0]!.f})`);
    } finally {
      await connection.end();
    }
  }
  const sqlite = new Database(':memory:');
  versions.push(`SQLite ${(sqlite.prepare('select sqlite_version() as v').get() as { v: string }).v} (better-sqlite3)`);
  sqlite.close();
  return versions;
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

export function renderExtra(result: ExtraResult): string {
  const lines = [`### ${result.title}`, ''];
  for (const note of result.notes) lines.push(note, '');
  lines.push(row(result.columns), row(result.columns.map((_, i) => (i === 0 ? '---' : '---:'))));
  for (const cells of result.rows) lines.push(row(cells));
  lines.push('');
  for (const check of result.goals) {
    const mark = check.met === undefined ? 'n/a' : check.met ? 'met' : 'NOT met';
    lines.push(`- ${check.goal}: **${mark}** (${check.detail})`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const urls: ServerUrls = { pg: process.env.POLYRECORD_PG_URL || undefined, mysql: process.env.POLYRECORD_MYSQL_URL || undefined, pgReplica: process.env.POLYRECORD_PG_REPLICA_URL || undefined, nats: process.env.POLYRECORD_NATS_URL || undefined, amqp: process.env.POLYRECORD_AMQP_URL || undefined };
  const { run, skipped } = chosen(urls);
  if (!(globalThis as { gc?: unknown }).gc) process.emitWarning('run node with --expose-gc so memory measurements start from a collected heap');
  const cpu = cpus();
  console.log(`# polyrecord sync and cross-database bench, ${new Date().toISOString()}`);
  console.log('');
  console.log(`- Machine: ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'} (nproc ${cpu.length}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${process.platform} ${process.arch}`);
  console.log(`- Node ${process.version}`);
  for (const version of await serverVersions(urls)) console.log(`- ${version}`);
  for (const reason of skipped) console.log(`- ${reason}`);
  const failures: string[] = [];
  let timedOut = false;
  for (const benchmark of run) {
    const limitMs = envInt('BENCH_EXTRA_TIMEOUT_S', benchmark.timeoutS ?? 300) * 1000;
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        benchmark.run(urls),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timedOut = true;
            reject(new Error(`still running after ${limitMs / 1000} s (BENCH_EXTRA_TIMEOUT_S)`));
          }, limitMs);
        }),
      ]);
      console.log(`\n${renderExtra(result)}`);
    } catch (error) {
      failures.push(`${benchmark.id}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      console.log(`\n### ${benchmark.id}\n\nFAILED: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
    log(`(${benchmark.id} took ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  if (failures.length) {
    console.error(`\n${failures.length} benchmark(s) failed:\n${failures.join('\n\n')}`);
    process.exitCode = 1;
  }
  // A benchmark that timed out still holds its (hung) connections: do not wait for them.
  if (timedOut) {
    await dropLeftovers();
    process.exit();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
