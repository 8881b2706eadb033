/**
 * Cross-database transfer, PostgreSQL + MariaDB: `CrossDbTransaction.run` (two-phase
 * commit, coordinator log in a TableLog on a separate PostgreSQL database) against the
 * same two writes as two independent local transactions (`ConnectionManager.transaction`
 * on each connection, one after the other). Each transfer is two atomic
 * `update accounts set balance = balance ± ? where id = ?` through `rawQuery`.
 *
 * Both servers at their default durability (`synchronous_commit = on`,
 * `innodb_flush_log_at_trx_commit = 1`; the run fails if they are not). At 1, 16 and 64
 * concurrent workers, each worker on its own account (no lock contention): p50, p99 and
 * throughput of each kind. Each level runs `BENCH_XDB_ROUNDS` rounds in alternating
 * order (local, cross, cross, local, ...); the latencies and times of all rounds are merged.
 */
import type { Knex } from 'knex';
import { ConnectionManager, CrossDbTransaction, TX_LOG_TABLE } from 'polyrecord';
import { collectGarbage } from '../measure.js';
import { check, envInt, fmt, freshMysql, freshPostgres, log, percentile, withCleanup, type ExtraResult, type GoalCheck, type ServerUrls } from '../sync/support.js';
import { ACCOUNTS_TABLE, INITIAL_BALANCE, MARIA_BANK, PG_BANK, TX_LOG, XdbAccount, createAccounts } from './models.js';

/** Transfers per level; each worker makes its share. */
const TRANSFERS = envInt('BENCH_XDB_TRANSFERS', 1_600);
const ROUNDS = envInt('BENCH_XDB_ROUNDS', 2);
const LEVELS = [1, 16, 64] as const;
const WARM_UP = 200;
const POOL = { min: 0, max: 20 };
const NODE_ID = 'bench-x';
/** The goals at 16 concurrent workers (issue 14): p50 at most 2x, throughput at least half of two local transactions. */
export const XDB_GOAL_P50_RATIO = 2.0;
export const XDB_GOAL_THROUGHPUT_SHARE = 0.5;
const GOAL_LEVEL = 16;

const ACCOUNTS = Math.max(...LEVELS);

const DEBIT = `update ${ACCOUNTS_TABLE} set balance = balance - ? where id = ?`;
const CREDIT = `update ${ACCOUNTS_TABLE} set balance = balance + ? where id = ?`;

type Kind = 'CrossDbTransaction' | 'two local transactions';
type Transfer = (account: number) => Promise<void>;

const KINDS: Record<Kind, Transfer> = {
  // The log as configured by name (CrossDbTransaction.configure({ log: TX_LOG })), as the docs show first.
  CrossDbTransaction: (account) =>
    CrossDbTransaction.run(async () => {
      await XdbAccount.rawQuery(DEBIT, [1, account]);
      await XdbAccount.using(MARIA_BANK).rawQuery(CREDIT, [1, account]);
    }),
  'two local transactions': async (account) => {
    await ConnectionManager.transaction(PG_BANK, () => XdbAccount.rawQuery(DEBIT, [1, account]));
    await ConnectionManager.transaction(MARIA_BANK, () => XdbAccount.using(MARIA_BANK).rawQuery(CREDIT, [1, account]));
  },
};

interface Run {
  kind: Kind;
  workers: number;
  transfers: number;
  ms: number;
  /** Per-transfer latencies, ascending. */
  latencies: number[];
}

/** `workers` loops, loop i on account i + 1, `perWorker` transfers each. */
async function timeTransfers(kind: Kind, workers: number, perWorker: number): Promise<Run> {
  const transfer = KINDS[kind];
  const latencies: number[] = [];
  collectGarbage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; i < perWorker; i++) {
        const t0 = performance.now();
        await transfer(worker + 1);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const ms = performance.now() - started;
  return { kind, workers, transfers: workers * perWorker, ms, latencies: latencies.sort((a, b) => a - b) };
}

function merge(runs: Run[]): Run {
  return { ...runs[0]!, transfers: runs.reduce((n, r) => n + r.transfers, 0), ms: runs.reduce((n, r) => n + r.ms, 0), latencies: runs.flatMap((r) => r.latencies).sort((a, b) => a - b) };
}

async function balances(knex: Knex): Promise<Map<number, number>> {
  const rows = (await knex(ACCOUNTS_TABLE).select('id', 'balance')) as Array<{ id: number; balance: number | string }>;
  return new Map(rows.map((r) => [Number(r.id), Number(r.balance)]));
}

/** Balances moved by exactly the transfers made, no branch left prepared, every logged transaction committed. */
async function verify(pgBank: Knex, mariaBank: Knex, txLog: Knex, moved: Map<number, number>, crossCount: number): Promise<void> {
  const [debited, credited] = [await balances(pgBank), await balances(mariaBank)];
  for (let id = 1; id <= ACCOUNTS; id++) {
    const n = moved.get(id) ?? 0;
    check(debited.get(id) === INITIAL_BALANCE - n, `PostgreSQL account ${id}: balance ${debited.get(id)}, expected ${INITIAL_BALANCE - n}`);
    check(credited.get(id) === INITIAL_BALANCE + n, `MariaDB account ${id}: balance ${credited.get(id)}, expected ${INITIAL_BALANCE + n}`);
  }
  const { rows: prepared } = await pgBank.raw('select gid from pg_prepared_xacts where database = current_database()');
  check(prepared.length === 0, `${prepared.length} prepared transactions left on PostgreSQL`);
  const [xa] = await mariaBank.raw('XA RECOVER');
  const ours = (xa as Array<{ data: Buffer | string }>).filter((r) => String(r.data).includes(NODE_ID));
  check(ours.length === 0, `${ours.length} XA branches left prepared on MariaDB`);
  // The "done" marks are written after run() resolves: give the last ones a moment.
  for (let attempt = 0; ; attempt++) {
    const states = (await txLog(TX_LOG_TABLE).select('state').count({ n: '*' }).groupBy('state')) as Array<{ state: string; n: string | number }>;
    const byState = Object.fromEntries(states.map((s) => [s.state, Number(s.n)]));
    const ok = byState.committed === crossCount && Object.keys(byState).length === 1;
    if (ok) return;
    if (attempt >= 20) check(false, `coordinator log: expected ${crossCount} committed, found ${JSON.stringify(byState)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Fails the run unless both servers commit durably (the comparison is about default durability). */
async function assertDefaultDurability(pgBank: Knex, mariaBank: Knex): Promise<string> {
  const { rows } = await pgBank.raw('show synchronous_commit');
  const synchronousCommit = String(rows[0].synchronous_commit);
  const [flush] = (await mariaBank.raw('select @@innodb_flush_log_at_trx_commit as f')) as [Array<{ f: number | string }>];
  const flushAtCommit = Number(flush[0]!.f);
  check(synchronousCommit === 'on' && flushAtCommit === 1, `servers not at default durability: synchronous_commit = ${synchronousCommit}, innodb_flush_log_at_trx_commit = ${flushAtCommit}`);
  return `synchronous_commit = ${synchronousCommit}, innodb_flush_log_at_trx_commit = ${flushAtCommit}`;
}

export async function benchCrossDb(urls: ServerUrls): Promise<ExtraResult> {
  if (!urls.pg || !urls.mysql) throw new Error('the cross-db benchmark needs POLYRECORD_PG_URL and POLYRECORD_MYSQL_URL');
  return withCleanup(async (defer) => {
    const pgDb = await freshPostgres(urls.pg!);
    defer(() => pgDb.drop());
    const logDb = await freshPostgres(urls.pg!, 'txlog');
    defer(() => logDb.drop());
    const myDb = await freshMysql(urls.mysql!);
    defer(() => myDb.drop());
    const [pgBank, txLog, mariaBank] = [pgDb.knex(), logDb.knex(), myDb.knex()];
    defer(() => Promise.all([pgBank.destroy(), txLog.destroy(), mariaBank.destroy()]));
    const durability = await assertDefaultDurability(pgBank, mariaBank);
    await createAccounts(pgBank, ACCOUNTS);
    await createAccounts(mariaBank, ACCOUNTS);

    for (const [name, url] of [[PG_BANK, pgDb.url], [MARIA_BANK, myDb.url], [TX_LOG, logDb.url]] as const) {
      ConnectionManager.configure(name, { url, pool: POOL });
      defer(() => ConnectionManager.remove(name));
    }
    // As docs/cross-db-transactions.md configures it: a TableLog on a connection that takes no part.
    CrossDbTransaction.configure({ log: TX_LOG, nodeId: NODE_ID });

    const moved = new Map<number, number>();
    let crossCount = 0;
    const record = (run: Run) => {
      for (let worker = 1; worker <= run.workers; worker++) moved.set(worker, (moved.get(worker) ?? 0) + run.transfers / run.workers);
      if (run.kind === 'CrossDbTransaction') crossCount += run.transfers;
      return run;
    };

    log(`\ncross-db: warm-up (${WARM_UP} transfers of each kind at each level)`);
    for (const workers of LEVELS) for (const kind of Object.keys(KINDS) as Kind[]) record(await timeTransfers(kind, workers, Math.ceil(WARM_UP / workers)));

    const merged: Run[] = [];
    for (const workers of LEVELS) {
      const perWorker = Math.ceil(TRANSFERS / ROUNDS / workers);
      const byKind: Record<Kind, Run[]> = { CrossDbTransaction: [], 'two local transactions': [] };
      for (let round = 0; round < ROUNDS; round++) {
        const order: Kind[] = round % 2 === 0 ? ['two local transactions', 'CrossDbTransaction'] : ['CrossDbTransaction', 'two local transactions'];
        for (const kind of order) {
          await pgBank.raw('CHECKPOINT');
          const run = record(await timeTransfers(kind, workers, perWorker));
          byKind[kind].push(run);
          log(`  ${String(workers).padStart(2)} workers, round ${round + 1}, ${kind.padEnd(22)} ${run.transfers} in ${fmt.s(run.ms)} s: ${fmt.int(rate(run))}/s, p50 ${fmt.ms(p50(run))} ms, p99 ${fmt.ms(p99(run))} ms`);
        }
      }
      merged.push(merge(byKind['two local transactions']), merge(byKind.CrossDbTransaction));
    }
    await verify(pgBank, mariaBank, txLog, moved, crossCount);
    log('  verified: balances, no prepared branches left, coordinator log all committed');

    const find = (kind: Kind, workers: number) => merged.find((r) => r.kind === kind && r.workers === workers)!;
    const p50Ratio = (workers: number) => p50(find('CrossDbTransaction', workers)) / p50(find('two local transactions', workers));
    const share = (workers: number) => rate(find('CrossDbTransaction', workers)) / rate(find('two local transactions', workers));
    const goals: GoalCheck[] = [
      {
        goal: `p50 latency of CrossDbTransaction at ${GOAL_LEVEL} concurrent at most ${fmt.x(XDB_GOAL_P50_RATIO)} two local transactions`,
        met: p50Ratio(GOAL_LEVEL) <= XDB_GOAL_P50_RATIO,
        detail: `${fmt.x(p50Ratio(GOAL_LEVEL))}; ${LEVELS.filter((l) => l !== GOAL_LEVEL).map((l) => `${fmt.x(p50Ratio(l))} at ${l}`).join(', ')}`,
      },
      {
        goal: `throughput of CrossDbTransaction at ${GOAL_LEVEL} concurrent at least ${fmt.pct(XDB_GOAL_THROUGHPUT_SHARE)} of two local transactions`,
        met: share(GOAL_LEVEL) >= XDB_GOAL_THROUGHPUT_SHARE,
        detail: `${fmt.pct(share(GOAL_LEVEL))}; ${LEVELS.filter((l) => l !== GOAL_LEVEL).map((l) => `${fmt.pct(share(l))} at ${l}`).join(', ')}`,
      },
      { goal: 'balances exact, no prepared branch left, every logged transaction committed', met: true, detail: `${crossCount.toLocaleString('en')} cross-database transfers logged (warm-up included)` },
    ];
    return {
      title: 'Cross-database transfer, PostgreSQL + MariaDB',
      notes: [
        `Each transfer: \`update accounts set balance = balance - 1 where id = ?\` on PostgreSQL, then \`… + 1 …\` on MariaDB, through XdbAccount.rawQuery / .using('${MARIA_BANK}').rawQuery. CrossDbTransaction.run with CrossDbTransaction.configure({ log: '${TX_LOG}' }): a TableLog on a separate PostgreSQL database of the same server (not a participant). Baseline: ConnectionManager.transaction on PostgreSQL, then on MariaDB (two independent commits, not atomic together). Servers at default durability (${durability}).`,
        `At each level, ${TRANSFERS.toLocaleString('en')} transfers per kind split over the workers, each worker on its own account; ${ROUNDS} rounds in alternating order (local first in odd rounds, cross-database first in even ones), latencies and times merged. Pool max ${POOL.max} on each of the three connections. ${WARM_UP} warm-up transfers of each kind at each level first; CHECKPOINT on PostgreSQL before each timed run.`,
      ],
      columns: ['Workers', 'Kind', 'Transfers', 'Seconds', 'Transfers/s', 'p50 ms', 'p99 ms', 'p50 vs local', 'Throughput vs local'],
      rows: merged.map((run) => {
        const local = find('two local transactions', run.workers);
        const isLocal = run.kind === 'two local transactions';
        return [String(run.workers), run.kind, fmt.int(run.transfers), fmt.s(run.ms), fmt.int(rate(run)), fmt.ms(p50(run)), fmt.ms(p99(run)), isLocal ? '' : fmt.x(p50(run) / p50(local)), isLocal ? '' : fmt.pct(rate(run) / rate(local))];
      }),
      goals,
    };
  });
}

const p50 = (run: Run) => percentile(run.latencies, 50);
const p99 = (run: Run) => percentile(run.latencies, 99);
const rate = (run: Run) => run.transfers / (run.ms / 1000);
