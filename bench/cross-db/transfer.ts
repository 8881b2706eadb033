/**
 * Cross-database transfer, PostgreSQL + MariaDB: `CrossDbTransaction.run` (two-phase
 * commit, coordinator log in a TableLog on a separate PostgreSQL database) against the
 * same two writes as two independent local transactions (`ConnectionManager.transaction`
 * on each connection, one after the other). Each transfer is two atomic
 * `update accounts set balance = balance ± ? where id = ?` through `rawQuery`.
 *
 * Latency: 1,000 sequential transfers of each kind. Throughput: 2,000 transfers over 16
 * concurrent loops, each loop on its own account ids (no lock contention). The cross-database
 * transfer runs twice: with the log configured by connection name (as the docs show first,
 * and what the goals are checked on) and with one `TableLog` object passed to every run.
 */
import type { Knex } from 'knex';
import { ConnectionManager, CrossDbTransaction, TX_LOG_TABLE, TableLog, type CrossDbOptions } from 'polyrecord';
import { collectGarbage } from '../measure.js';
import { check, envInt, fmt, freshMysql, freshPostgres, log, percentile, withCleanup, type ExtraResult, type GoalCheck, type ServerUrls } from '../sync/support.js';
import { ACCOUNTS_TABLE, INITIAL_BALANCE, MARIA_BANK, PG_BANK, TX_LOG, XdbAccount, createAccounts } from './models.js';

const SEQUENTIAL = envInt('BENCH_XDB_SEQUENTIAL', 1_000);
const CONCURRENT_TOTAL = envInt('BENCH_XDB_CONCURRENT', 2_000);
const LOOPS = 16;
const WARM_UP = 100;
const POOL = { min: 0, max: 20 };
const NODE_ID = 'bench-x';
export const XDB_GOAL_P50_RATIO = 2.5;
export const XDB_GOAL_THROUGHPUT_SHARE = 0.4;

/** Accounts 1..LOOPS belong to the concurrent loops; the sequential runs use the next one. */
const ACCOUNTS = LOOPS + 1;
const SEQUENTIAL_ACCOUNT = LOOPS + 1;

const DEBIT = `update ${ACCOUNTS_TABLE} set balance = balance - ? where id = ?`;
const CREDIT = `update ${ACCOUNTS_TABLE} set balance = balance + ? where id = ?`;

type Kind = 'CrossDbTransaction' | 'CrossDbTransaction, TableLog object' | 'two local transactions';
type Transfer = (account: number) => Promise<void>;

const crossTransfer = (log: CrossDbOptions['log']) => (account: number) =>
  CrossDbTransaction.run(
    async () => {
      await XdbAccount.rawQuery(DEBIT, [1, account]);
      await XdbAccount.using(MARIA_BANK).rawQuery(CREDIT, [1, account]);
    },
    log === undefined ? {} : { log },
  );

// Created lazily: the log's connection is configured when the benchmark starts.
let tableLog: TableLog | undefined;

const TRANSFERS: Record<Kind, Transfer> = {
  // The log as configured by name (CrossDbTransaction.configure({ log: TX_LOG })), as the docs show first.
  CrossDbTransaction: crossTransfer(undefined),
  // The same log passed as one TableLog object, reused by every transaction.
  'CrossDbTransaction, TableLog object': (account) => crossTransfer((tableLog ??= new TableLog({ connection: TX_LOG })))(account),
  'two local transactions': async (account) => {
    await ConnectionManager.transaction(PG_BANK, () => XdbAccount.rawQuery(DEBIT, [1, account]));
    await ConnectionManager.transaction(MARIA_BANK, () => XdbAccount.using(MARIA_BANK).rawQuery(CREDIT, [1, account]));
  },
};

interface Run {
  kind: Kind;
  mode: 'sequential' | 'concurrent';
  transfers: number;
  ms: number;
  /** Per-transfer latencies, ascending. */
  latencies: number[];
}

async function timeTransfers(kind: Kind, mode: Run['mode'], loops: number, perLoop: number, accountOf: (loop: number) => number): Promise<Run> {
  const transfer = TRANSFERS[kind];
  const latencies: number[] = [];
  collectGarbage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      const account = accountOf(loop);
      for (let i = 0; i < perLoop; i++) {
        const t0 = performance.now();
        await transfer(account);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const ms = performance.now() - started;
  return { kind, mode, transfers: loops * perLoop, ms, latencies: latencies.sort((a, b) => a - b) };
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
  const states = (await txLog(TX_LOG_TABLE).select('state').count({ n: '*' }).groupBy('state')) as Array<{ state: string; n: string | number }>;
  const byState = Object.fromEntries(states.map((s) => [s.state, Number(s.n)]));
  check(byState.committed === crossCount && Object.keys(byState).length === 1, `coordinator log: expected ${crossCount} committed, found ${JSON.stringify(byState)}`);
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
    tableLog = undefined;
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
    const record = (run: Run, accountOf: (loop: number) => number, loops: number) => {
      for (let loop = 0; loop < loops; loop++) moved.set(accountOf(loop), (moved.get(accountOf(loop)) ?? 0) + run.transfers / loops);
      if (run.kind !== 'two local transactions') crossCount += run.transfers;
      return run;
    };
    const sequentialAccount = () => SEQUENTIAL_ACCOUNT;
    const loopAccount = (loop: number) => loop + 1;
    const perLoop = Math.ceil(CONCURRENT_TOTAL / LOOPS);

    log(`\ncross-db: warm-up (${WARM_UP} transfers of each kind, sequential and concurrent)`);
    for (const kind of Object.keys(TRANSFERS) as Kind[]) {
      record(await timeTransfers(kind, 'sequential', 1, WARM_UP, sequentialAccount), sequentialAccount, 1);
      record(await timeTransfers(kind, 'concurrent', LOOPS, Math.ceil(WARM_UP / LOOPS), loopAccount), loopAccount, LOOPS);
    }

    const runs: Run[] = [];
    const plan: Array<[Kind, Run['mode']]> = [
      ['two local transactions', 'sequential'],
      ['CrossDbTransaction', 'sequential'],
      ['CrossDbTransaction, TableLog object', 'sequential'],
      ['CrossDbTransaction, TableLog object', 'concurrent'],
      ['CrossDbTransaction', 'concurrent'],
      ['two local transactions', 'concurrent'],
    ];
    for (const [kind, mode] of plan) {
      await pgBank.raw('CHECKPOINT');
      const run = mode === 'sequential' ? record(await timeTransfers(kind, mode, 1, SEQUENTIAL, sequentialAccount), sequentialAccount, 1) : record(await timeTransfers(kind, mode, LOOPS, perLoop, loopAccount), loopAccount, LOOPS);
      runs.push(run);
      log(`  ${kind.padEnd(35)} ${mode.padEnd(10)} ${run.transfers} transfers in ${fmt.s(run.ms)} s: ${fmt.int(run.transfers / (run.ms / 1000))}/s, p50 ${fmt.ms(percentile(run.latencies, 50))} ms, p95 ${fmt.ms(percentile(run.latencies, 95))} ms`);
    }
    await verify(pgBank, mariaBank, txLog, moved, crossCount);
    log('  verified: balances, no prepared branches left, coordinator log all committed');

    const find = (kind: Kind, mode: Run['mode']) => runs.find((r) => r.kind === kind && r.mode === mode)!;
    const p50 = (run: Run) => percentile(run.latencies, 50);
    const rate = (run: Run) => run.transfers / (run.ms / 1000);
    const p50Ratio = (kind: Kind) => p50(find(kind, 'sequential')) / p50(find('two local transactions', 'sequential'));
    const share = (kind: Kind) => rate(find(kind, 'concurrent')) / rate(find('two local transactions', 'concurrent'));
    const OBJECT: Kind = 'CrossDbTransaction, TableLog object';
    const goals: GoalCheck[] = [
      {
        goal: `sequential p50 latency of CrossDbTransaction (log configured by name) at most ${fmt.x(XDB_GOAL_P50_RATIO)} two local transactions`,
        met: p50Ratio('CrossDbTransaction') <= XDB_GOAL_P50_RATIO,
        detail: `${fmt.x(p50Ratio('CrossDbTransaction'))}; with a TableLog object ${fmt.x(p50Ratio(OBJECT))}`,
      },
      {
        goal: `throughput at ${LOOPS} concurrent of CrossDbTransaction (log configured by name) at least ${fmt.pct(XDB_GOAL_THROUGHPUT_SHARE)} of two local transactions`,
        met: share('CrossDbTransaction') >= XDB_GOAL_THROUGHPUT_SHARE,
        detail: `${fmt.pct(share('CrossDbTransaction'))}; with a TableLog object ${fmt.pct(share(OBJECT))}`,
      },
      { goal: 'balances exact, no prepared branch left, every logged transaction committed', met: true, detail: `${crossCount.toLocaleString('en')} cross-database transfers logged (warm-up included)` },
    ];
    const local = (mode: Run['mode']) => find('two local transactions', mode);
    return {
      title: 'Cross-database transfer, PostgreSQL + MariaDB',
      notes: [
        `Each transfer: \`update accounts set balance = balance - 1 where id = ?\` on PostgreSQL, then \`… + 1 …\` on MariaDB, through XdbAccount.rawQuery / .using('${MARIA_BANK}').rawQuery. CrossDbTransaction.run with CrossDbTransaction.configure({ log: '${TX_LOG}' }): a TableLog on a separate PostgreSQL database (not a participant); "TableLog object" passes { log: new TableLog({ connection: '${TX_LOG}' }) }, one object for every transaction, instead. Baseline: ConnectionManager.transaction on PostgreSQL, then on MariaDB (two independent commits, not atomic together).`,
        `Sequential: ${SEQUENTIAL.toLocaleString('en')} transfers one after the other. Concurrent: ${(perLoop * LOOPS).toLocaleString('en')} transfers over ${LOOPS} loops, each on its own account pair. Pool max ${POOL.max} on each of the three connections. ${WARM_UP} warm-up transfers of each kind first.`,
      ],
      columns: ['Mode', 'Kind', 'Transfers', 'Seconds', 'Transfers/s', 'p50 ms', 'p95 ms', 'p50 vs local', 'Throughput vs local'],
      rows: runs.map((run) => [
        run.mode === 'sequential' ? 'sequential' : `${LOOPS} concurrent`,
        run.kind,
        fmt.int(run.transfers),
        fmt.s(run.ms),
        fmt.int(rate(run)),
        fmt.ms(p50(run)),
        fmt.ms(percentile(run.latencies, 95)),
        run.kind === 'two local transactions' ? '' : fmt.x(p50(run) / p50(local(run.mode))),
        run.kind === 'two local transactions' ? '' : fmt.pct(rate(run) / rate(local(run.mode))),
      ]),
      goals,
    };
  });
}
