/**
 * Cross-database transfer, PostgreSQL + MariaDB: `CrossDbTransaction.run` (two-phase
 * commit, coordinator log in a TableLog on a separate PostgreSQL database), and the same
 * with `lastResource` (the MariaDB participant's own commit carries the decision), against
 * the same two writes as two independent local transactions (`ConnectionManager.transaction`
 * on each connection, one after the other). Each transfer is two atomic
 * `update accounts set balance = balance ± ? where id = ?` through `rawQuery`.
 *
 * Both servers at their default durability (`synchronous_commit = on`,
 * `innodb_flush_log_at_trx_commit = 1`; the run fails if they are not). At 1, 16 and 64
 * concurrent workers, each worker on its own account (no lock contention): p50, p99 and
 * throughput of each kind. Each level runs `BENCH_XDB_ROUNDS` rounds, the kinds in one
 * order and then reversed. The table's figures merge every round; the ratios to the local
 * baseline (and the goals) are the median of each round's ratio, so that load from other
 * processes that slows one round slows both sides of its ratio.
 */
import type { Knex } from 'knex';
import { ConnectionManager, CrossDbTransaction, TX_LOG_TABLE, type CrossDbOptions } from 'polyrecord';
import { collectGarbage } from '../measure.js';
import { check, envInt, fmt, freshMysql, freshPostgres, log, percentile, withCleanup, type ExtraResult, type GoalCheck, type ServerUrls } from '../sync/support.js';
import { ACCOUNTS_TABLE, INITIAL_BALANCE, MARIA_BANK, PG_BANK, TX_LOG, XdbAccount, createAccounts } from './models.js';

/** Transfers per level; each worker makes its share. */
const TRANSFERS = envInt('BENCH_XDB_TRANSFERS', 2_400);
const ROUNDS = envInt('BENCH_XDB_ROUNDS', 6);
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

type Kind = 'CrossDbTransaction' | 'CrossDbTransaction, lastResource' | 'two local transactions';
type Transfer = (account: number) => Promise<void>;

const crossTransfer = (options: CrossDbOptions) => (account: number) =>
  CrossDbTransaction.run(async () => {
    await XdbAccount.rawQuery(DEBIT, [1, account]);
    await XdbAccount.using(MARIA_BANK).rawQuery(CREDIT, [1, account]);
  }, options);

const KINDS: Record<Kind, Transfer> = {
  'two local transactions': async (account) => {
    await ConnectionManager.transaction(PG_BANK, () => XdbAccount.rawQuery(DEBIT, [1, account]));
    await ConnectionManager.transaction(MARIA_BANK, () => XdbAccount.using(MARIA_BANK).rawQuery(CREDIT, [1, account]));
  },
  // The log as configured by name (CrossDbTransaction.configure({ log: TX_LOG })), as the docs show first.
  CrossDbTransaction: crossTransfer({}),
  // The decision in MariaDB's own commit: no XA prepare there, no log write.
  'CrossDbTransaction, lastResource': crossTransfer({ lastResource: MARIA_BANK }),
};
const CROSS_KINDS: readonly Kind[] = ['CrossDbTransaction', 'CrossDbTransaction, lastResource'];

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

/**
 * Balances moved by exactly the transfers made, no branch left prepared, every logged
 * transaction committed, and one committed decision row in MariaDB per lastResource transfer.
 */
async function verify(pgBank: Knex, mariaBank: Knex, txLog: Knex, moved: Map<number, number>, crossCount: number, lastResourceCount: number): Promise<void> {
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
  const decisions = (await mariaBank('polyrecord_tx_decisions').select('state').count({ n: '*' }).groupBy('state')) as Array<{ state: string; n: string | number }>;
  check(decisions.length === 1 && decisions[0]!.state === 'committed' && Number(decisions[0]!.n) === lastResourceCount, `MariaDB decision rows: expected ${lastResourceCount} committed, found ${JSON.stringify(decisions)}`);
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
    let lastResourceCount = 0;
    const record = (run: Run) => {
      for (let worker = 1; worker <= run.workers; worker++) moved.set(worker, (moved.get(worker) ?? 0) + run.transfers / run.workers);
      if (run.kind === 'CrossDbTransaction') crossCount += run.transfers;
      if (run.kind === 'CrossDbTransaction, lastResource') lastResourceCount += run.transfers;
      return run;
    };

    log(`\ncross-db: warm-up (${WARM_UP} transfers of each kind at each level)`);
    for (const workers of LEVELS) for (const kind of Object.keys(KINDS) as Kind[]) record(await timeTransfers(kind, workers, Math.ceil(WARM_UP / workers)));

    const merged: Run[] = [];
    const rounds = new Map<string, Run[]>();
    for (const workers of LEVELS) {
      const perWorker = Math.ceil(TRANSFERS / ROUNDS / workers);
      const byKind: Record<Kind, Run[]> = { CrossDbTransaction: [], 'CrossDbTransaction, lastResource': [], 'two local transactions': [] };
      for (let round = 0; round < ROUNDS; round++) {
        const kinds = Object.keys(KINDS) as Kind[];
        for (const kind of round % 2 === 0 ? kinds : kinds.reverse()) {
          await pgBank.raw('CHECKPOINT');
          const run = record(await timeTransfers(kind, workers, perWorker));
          byKind[kind].push(run);
          log(`  ${String(workers).padStart(2)} workers, round ${round + 1}, ${kind.padEnd(32)} ${run.transfers} in ${fmt.s(run.ms)} s: ${fmt.int(rate(run))}/s, p50 ${fmt.ms(p50(run))} ms, p99 ${fmt.ms(p99(run))} ms`);
        }
      }
      for (const kind of Object.keys(KINDS) as Kind[]) {
        merged.push(merge(byKind[kind]));
        rounds.set(`${kind}@${workers}`, byKind[kind]);
      }
    }
    await verify(pgBank, mariaBank, txLog, moved, crossCount, lastResourceCount);
    log('  verified: balances, no prepared branches left, coordinator log all committed, decision rows');

    // Round i of a kind against round i of the local baseline (run next to it), then the median over the rounds.
    const perRound = (kind: Kind, workers: number, figure: (cross: Run, local: Run) => number) => {
      const local = rounds.get(`two local transactions@${workers}`)!;
      return median(rounds.get(`${kind}@${workers}`)!.map((run, i) => figure(run, local[i]!)));
    };
    const p50Ratio = (kind: Kind, workers: number) => perRound(kind, workers, (cross, local) => p50(cross) / p50(local));
    const share = (kind: Kind, workers: number) => perRound(kind, workers, (cross, local) => rate(cross) / rate(local));
    const others = (figure: (level: number) => string) => LEVELS.filter((l) => l !== GOAL_LEVEL).map((l) => `${figure(l)} at ${l}`).join(', ');
    const goals: GoalCheck[] = CROSS_KINDS.flatMap((kind) => [
      {
        goal: `p50 latency of ${kind} at ${GOAL_LEVEL} concurrent at most ${fmt.x(XDB_GOAL_P50_RATIO)} two local transactions`,
        met: p50Ratio(kind, GOAL_LEVEL) <= XDB_GOAL_P50_RATIO,
        detail: `${fmt.x(p50Ratio(kind, GOAL_LEVEL))}; ${others((l) => fmt.x(p50Ratio(kind, l)))}`,
      },
      {
        goal: `throughput of ${kind} at ${GOAL_LEVEL} concurrent at least ${fmt.pct(XDB_GOAL_THROUGHPUT_SHARE)} of two local transactions`,
        met: share(kind, GOAL_LEVEL) >= XDB_GOAL_THROUGHPUT_SHARE,
        detail: `${fmt.pct(share(kind, GOAL_LEVEL))}; ${others((l) => fmt.pct(share(kind, l)))}`,
      },
    ]);
    goals.push({
      goal: 'balances exact, no prepared branch left, every logged transaction committed, one committed decision row per lastResource transfer',
      met: true,
      detail: `${crossCount.toLocaleString('en')} logged and ${lastResourceCount.toLocaleString('en')} lastResource transfers (warm-up included)`,
    });
    return {
      title: 'Cross-database transfer, PostgreSQL + MariaDB',
      notes: [
        `Each transfer: \`update accounts set balance = balance - 1 where id = ?\` on PostgreSQL, then \`… + 1 …\` on MariaDB, through XdbAccount.rawQuery / .using('${MARIA_BANK}').rawQuery. CrossDbTransaction.run with CrossDbTransaction.configure({ log: '${TX_LOG}' }): a TableLog on a separate PostgreSQL database of the same server (not a participant); "lastResource" passes { lastResource: '${MARIA_BANK}' }, so MariaDB's own commit carries the decision (no XA there, no log write). Baseline: ConnectionManager.transaction on PostgreSQL, then on MariaDB (two independent commits, not atomic together). Servers at default durability (${durability}).`,
        `At each level, ${TRANSFERS.toLocaleString('en')} transfers per kind split over the workers, each worker on its own account; ${ROUNDS} rounds, the kinds in the table's order in odd rounds and reversed in even ones, latencies and times merged in the table; "vs local" is the median over the rounds of each round's ratio to the local run next to it. Pool max ${POOL.max} on each of the three connections. ${WARM_UP} warm-up transfers of each kind at each level first; CHECKPOINT on PostgreSQL before each timed run.`,
      ],
      columns: ['Workers', 'Kind', 'Transfers', 'Seconds', 'Transfers/s', 'p50 ms', 'p99 ms', 'p50 vs local', 'Throughput vs local'],
      rows: merged.map((run) => {
        const isLocal = run.kind === 'two local transactions';
        return [String(run.workers), run.kind, fmt.int(run.transfers), fmt.s(run.ms), fmt.int(rate(run)), fmt.ms(p50(run)), fmt.ms(p99(run)), isLocal ? '' : fmt.x(p50Ratio(run.kind, run.workers)), isLocal ? '' : fmt.pct(share(run.kind, run.workers))];
      }),
      goals,
    };
  });
}

const p50 = (run: Run) => percentile(run.latencies, 50);
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
const p99 = (run: Run) => percentile(run.latencies, 99);
const rate = (run: Run) => run.transfers / (run.ms / 1000);
