import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ActiveRecord,
  AfterCommit,
  Column,
  ConnectionManager,
  CrossDbTransaction,
  CrossDbTransactionError,
  FileLog,
  HeuristicOutcomeError,
  Model,
  PrimaryKey,
  QueryError,
  TableLog,
  TransactionCoordinator,
  TransactionError,
  TX_LOG_TABLE,
  type ConnectionConfig,
  type CoordinatorEvents,
  type DriverName,
  type RecoveryResult,
} from '../src/index.js';
import { Account, balanceOf, createAccounts, transfer, transferAlong } from './support/accounts.js';
import { DIALECTS } from './support/dialects.js';
import { ourPreparedBranches } from './support/prepared.js';
import { describeEachServerPair } from './support/server-pairs.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { currentSession, leavePrepared, rollBackLeftovers, runNodeId, waitForSessionsToEnd, provisionBanks } from './support/two-phase.js';
import { deferred, waitFor } from './support/wait.js';

const sqlite = DIALECTS.find((d) => d.driver === 'sqlite')!;

const hookLog: string[] = [];

/** The driver's code for "no such table", as QueryError.driverCode carries it. */
const NO_SUCH_TABLE: Record<DriverName, string> = { postgresql: '42P01', mysql: 'ER_NO_SUCH_TABLE', sqlite: 'SQLITE_ERROR' };

/** The accounts table with an @AfterCommit hook. */
@Model({ connection: 'bank_l', table: 'accounts' })
class HookedAccount extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) balance!: number;
  @AfterCommit() committed() {
    hookLog.push(`committed:${this.connectionName}:${this.balance}`);
  }
}

/** Collects a coordinator event's payloads until `stop()`. */
function listen<E extends keyof CoordinatorEvents>(event: E): { events: Array<Parameters<CoordinatorEvents[E]>[0]>; stop(): void } {
  const events: Array<Parameters<CoordinatorEvents[E]>[0]> = [];
  const listener = ((payload: Parameters<CoordinatorEvents[E]>[0]) => events.push(payload)) as CoordinatorEvents[E];
  TransactionCoordinator.default.events.on(event, listener as never);
  return { events, stop: () => TransactionCoordinator.default.events.off(event, listener as never) };
}

/**
 * The behaviour suite, once per pair of two-phase databases: `bank_l` and `bank_r` are
 * the pair's two databases (on one server, or one on each), `bank_s` is a SQLite database
 * that joins as the last resource, and the coordinator log is a TableLog on another SQLite
 * database.
 */
describeEachServerPair('CrossDbTransaction', (pair) => {
  const nodeId = runNodeId(`xdb-${pair.key}`);
  const twoPhase = ['bank_l', 'bank_r'];
  const names = ['bank_l', 'bank_r', 'bank_s'];
  const configs: Record<string, ConnectionConfig> = {};
  const drops: Array<() => Promise<void>> = [];
  const driverOf = (name: string) => ConnectionManager.get(name).driver;

  beforeAll(async () => {
    const banks = await provisionBanks(pair, nodeId);
    drops.push(banks.drop);
    Object.assign(configs, banks.configs);
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  });
  beforeEach(async () => {
    for (const name of names) await createAccounts(ConnectionManager.get(name).knex);
  });
  afterEach(async () => {
    // Every test must finish its branches. Those left behind are rolled back here, so that their locks do not make
    // the next test's set-up (or DROP DATABASE) wait, and then fail the test that left them.
    expect(await rollBackLeftovers(twoPhase, nodeId), 'prepared branches left behind by the test').toEqual([]);
  });

  /** This node's prepared branches on the pair's databases (MariaDB lists the whole server's), as sorted gids. */
  const ourBranches = async () => [...new Set((await Promise.all(twoPhase.map((name) => ourPreparedBranches(name, nodeId)))).flat())].sort();
  const expectNoPreparedLeft = async () => {
    for (const name of twoPhase) expect(await ourPreparedBranches(name, nodeId)).toEqual([]);
  };
  /** A connection `bank_p` to bank_r's database through a proxy the test can cut. */
  const withProxiedRight = async (test: (proxy: TcpProxy) => Promise<void>) => {
    const proxy = await startTcpProxy((configs.bank_r as { url: string }).url);
    ConnectionManager.configure('bank_p', { url: proxy.url });
    try {
      await test(proxy);
    } finally {
      proxy.restore();
      await ConnectionManager.remove('bank_p');
      await proxy.close();
    }
  };

  const [leftLabel, rightLabel] = pair.label.replace(/ \(.*\)$/, '').split(' + ');
  for (const [from, to, label] of [
    ['bank_l', 'bank_r', pair.label],
    ['bank_s', 'bank_l', `SQLite (last resource) + ${leftLabel}`],
    ['bank_s', 'bank_r', `SQLite (last resource) + ${rightLabel}${pair.sameServer ? ' (the other database)' : ''}`],
  ] as const) {
    it(`commits on both sides: ${label}`, async () => {
      const committed = listen('committed');
      const result = await CrossDbTransaction.run(async (tx) => {
        expect(tx.id).toMatch(/^[0-9a-z]{19}$/);
        await transfer(from, to, 10);
        expect(TransactionCoordinator.default.active().map((t) => t.id)).toContain(tx.id);
        return tx.id;
      });
      committed.stop();
      expect(committed.events.map((e) => [e.id, [...e.participants].sort()])).toEqual([[result, [from, to].sort()]]);
      expect(await balanceOf(from)).toBe(990);
      expect(await balanceOf(to)).toBe(1010);
      await expectNoPreparedLeft();
      // The "done" mark is written after run() resolves.
      const logged = async () => (await ConnectionManager.get('txlog').knex(TX_LOG_TABLE).where({ id: result }).first()) as { state: string } | undefined;
      await waitFor(async () => (await logged())?.state === 'committed', 'the done mark');
      expect((await logged())!.state).toBe('committed');
      expect(TransactionCoordinator.default.active()).toEqual([]);
    });

    it(`a failing statement in either branch rolls back both: ${label}`, async () => {
      for (const failOn of [from, to]) {
        const error = await CrossDbTransaction.run(async () => {
          await transfer(from, to, 10);
          await Account.using(failOn).rawQuery('select * from no_such_table');
        }).catch((e: unknown) => e);
        // The statement's own error is rethrown after both branches were rolled back.
        expect(error).toBeInstanceOf(QueryError);
        expect(error).toMatchObject({ code: 'E_QUERY', connection: failOn, driverCode: NO_SUCH_TABLE[driverOf(failOn)] });
        expect(await balanceOf(from)).toBe(1000);
        expect(await balanceOf(to)).toBe(1000);
      }
      await expectNoPreparedLeft();
    });
  }

  it(`with retry, a run a branch could not serialize is rolled back and runs again from the start, committing once: ${pair.label}`, async () => {
    const left = driverOf('bank_l');
    let runs = 0;
    const result = await CrossDbTransaction.run(
      async () => {
        const mine = ++runs;
        // A snapshot a concurrent write makes stale: PostgreSQL REPEATABLE READ (first in the branch), MariaDB's snapshot isolation.
        if (left === 'postgresql') await Account.using('bank_l').rawQuery('set transaction isolation level repeatable read');
        const before = (await Account.using('bank_l').find(1))!.balance;
        // Outside the transaction (knex's own pool): someone else changes the row on the first run only.
        if (mine === 1) await ConnectionManager.get('bank_l').knex.raw('update accounts set balance = balance - 100 where id = 1');
        const snapshotWrite = left === 'mysql' ? 'SET STATEMENT innodb_snapshot_isolation = 1 FOR ' : '';
        await Account.using('bank_l').rawQuery(`${snapshotWrite}update accounts set balance = ? where id = 1`, [before - 10]);
        await Account.using('bank_r').rawQuery('update accounts set balance = balance + 10 where id = 1');
        return mine;
      },
      { retry: { attempts: 3, baseMs: 1 } },
    );
    expect(result).toBe(2);
    // The outside write and the second run's transfer, once: the first run left nothing on either side.
    expect(await balanceOf('bank_l')).toBe(890);
    expect(await balanceOf('bank_r')).toBe(1010);
    await expectNoPreparedLeft();
  });

  it('commits on all three: SQLite (last resource) + both two-phase databases', async () => {
    const id = await CrossDbTransaction.run(async (tx) => {
      await transfer('bank_s', 'bank_l', 10);
      await transfer('bank_s', 'bank_r', 20);
      return tx.id;
    });
    expect([await balanceOf('bank_s'), await balanceOf('bank_l'), await balanceOf('bank_r')]).toEqual([970, 1010, 1020]);
    // The last resource's decision row is what recovery would read.
    const decision = await ConnectionManager.get('bank_s').knex('polyrecord_tx_decisions').where({ id }).first();
    expect(decision).toMatchObject({ id, state: 'committed' });
    await expectNoPreparedLeft();
  });

  for (const path of [
    ['bank_l', 'bank_s'],
    ['bank_l', 'bank_s', 'bank_r'],
    ['bank_r', 'bank_l', 'bank_s'],
  ]) {
    it(`a SQLite last resource joining ${path.indexOf('bank_s') === 1 ? 'second' : 'third'} (${path.join(' → ')}): the log records where the decision lives before any prepare, and all commit`, async () => {
      const loggedAtPrepare: Array<string | undefined> = [];
      const log = new TableLog({ connection: 'txlog' });
      const onPrepared = (e: { id: string }) => void log.get(e.id).then((r) => loggedAtPrepare.push(r?.state));
      TransactionCoordinator.default.events.on('prepared', onPrepared);
      let id = '';
      try {
        id = await CrossDbTransaction.run(async (tx) => {
          await transferAlong(path, 10);
          return tx.id;
        });
      } finally {
        TransactionCoordinator.default.events.off('prepared', onPrepared);
      }
      expect([await balanceOf(path[0]!), await balanceOf(path.at(-1)!)]).toEqual([990, 1010]);
      expect(await ConnectionManager.get('bank_s').knex('polyrecord_tx_decisions').where({ id }).first()).toMatchObject({ id, state: 'committed' });
      await waitFor(() => loggedAtPrepare.length === 1, 'the log read at prepare');
      expect(loggedAtPrepare).toEqual(['delegated']);
      const record = (await log.get(id))!;
      expect(record.participants.filter((p) => p.lastResource).map((p) => p.connection)).toEqual(['bank_s']);
      // The done mark covers a delegated record too.
      await waitFor(async () => (await log.get(id))?.state === 'committed', 'the done mark');
      await expectNoPreparedLeft();
    });
  }

  it('a SQLite last resource joining late, with an abort recorded first: nothing prepares, all roll back', async () => {
    const error = await CrossDbTransaction.run(async (tx) => {
      await transfer('bank_l', 'bank_r', 10);
      await new TableLog({ connection: 'txlog' }).decide(tx.id, 'aborted', []);
      await transfer('bank_r', 'bank_s', 10);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    expect((error as Error).message).toMatch(/recovery recorded an abort before the last resource was recorded/);
    expect([await balanceOf('bank_l'), await balanceOf('bank_r'), await balanceOf('bank_s')]).toEqual([1000, 1000, 1000]);
    await expectNoPreparedLeft();
  });

  const postgresSide = [pair.left, pair.right].includes('postgresql') ? (pair.left === 'postgresql' ? 'bank_l' : 'bank_r') : undefined;
  it.runIf(postgresSide)('a NO vote at prepare (PostgreSQL answers PREPARE with ROLLBACK) rolls back both', async () => {
    const other = postgresSide === 'bank_l' ? 'bank_r' : 'bank_l';
    const error = await CrossDbTransaction.run(async () => {
      // Model writes through save() join the branches too.
      const account = await Account.using(other).findOrFail(1);
      account.balance -= 10;
      await account.save();
      // The error is swallowed by the caller, but the PostgreSQL branch is now aborted.
      await Account.using(postgresSide!).rawQuery('select * from no_such_table').catch(() => undefined);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    // The NO vote, reported through QueryError (naming the connection) around the E_2PC_PREPARE error.
    expect((error as CrossDbTransactionError).cause).toBeInstanceOf(QueryError);
    expect((error as CrossDbTransactionError).cause).toMatchObject({ connection: postgresSide, message: expect.stringMatching(/PostgreSQL rolled the branch back instead of preparing it \(answered ROLLBACK\)/) });
    // Both ended rolled back; the branch that voted NO carries its error.
    expect((error as CrossDbTransactionError).outcomes.map((o) => [o.connection, o.outcome, o.error !== undefined]).sort()).toEqual([
      [postgresSide, 'rolled back', true],
      [other, 'rolled back', false],
    ].sort());
    expect(await balanceOf('bank_l')).toBe(1000);
    expect(await balanceOf('bank_r')).toBe(1000);
    await expectNoPreparedLeft();
  });

  it('a database unreachable at prepare is a NO vote: both sides roll back', async () => {
    let session = '';
    await withProxiedRight(async (proxy) => {
      const error = await CrossDbTransaction.run(async () => {
        await transfer('bank_l', 'bank_p', 10);
        session = await currentSession('bank_p');
        proxy.cut();
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CrossDbTransactionError);
      expect((error as Error).message).toMatch(/could not prepare; every branch was rolled back/);
      expect((error as CrossDbTransactionError).outcomes).toEqual([
        { connection: 'bank_l', outcome: 'rolled back' },
        { connection: 'bank_p', outcome: 'failed', error: expect.any(QueryError) },
      ]);
    });
    expect(await balanceOf('bank_l')).toBe(1000);
    expect(await balanceOf('bank_r')).toBe(1000);
    await waitForSessionsToEnd('bank_r', [session]);
    await expectNoPreparedLeft();
  });

  for (const from of ['bank_l', 'bank_s'] as const) {
    it(`a branch unreachable in phase 2 is reported by commitPending, and recover() commits it and reports it by recovered: decision ${from === 'bank_s' ? 'in the SQLite last resource' : 'in the coordinator log'}`, async () => {
      await withProxiedRight(async (proxy) => {
        // The network to bank_r's server goes down right after the decision is logged, before phase 2.
        class CutAfterDecision extends TableLog {
          override async decide(...args: Parameters<TableLog['decide']>) {
            const record = await super.decide(...args);
            if (args[1] === 'committing') proxy.cut();
            return record;
          }
        }
        const pending = listen('commitPending');
        const recovered = listen('recovered');
        try {
          let session = '';
          const id = await CrossDbTransaction.run(async (tx) => {
            await transfer(from, 'bank_p', 10);
            session = await currentSession('bank_p');
            return tx.id;
          }, { log: new CutAfterDecision({ connection: 'txlog' }) });
          // run() resolved: the transaction is committed, but one branch is still prepared.
          expect(pending.events).toEqual([{ id, connection: 'bank_p', error: expect.any(QueryError) }]);
          expect(await balanceOf(from)).toBe(990);
          expect(await balanceOf('bank_r')).toBe(1000);
          // Recovery can finish the branch once the server has seen its session end.
          await waitForSessionsToEnd('bank_r', [session]);
          const left = await ourBranches();
          expect(left).toEqual([expect.stringMatching(new RegExp(`^polyrec:${nodeId}:${id}:b1`))]);

          proxy.restore();
          const result = await CrossDbTransaction.recover({ minAgeMs: 0, connections: twoPhase });
          expect(recovered.events).toEqual([result]);
          expect(result.committed.map((b) => [b.transactionId, b.gid])).toEqual([[id, left[0]]]);
          expect([result.rolledBack, result.unknown]).toEqual([[], []]);
          expect(await ourBranches()).toEqual([]);
          expect(await balanceOf('bank_r')).toBe(1010);
          expect(await balanceOf(from)).toBe(990);
        } finally {
          pending.stop();
          recovered.stop();
        }
      });
    });
  }

  it('HeuristicOutcomeError when the last resource committed but the coordinator log records an abort; recovery follows the last resource', async () => {
    const log = new TableLog({ connection: 'txlog' });
    const committedEvents = listen('committed');
    const abortedEvents = listen('aborted');
    let id = '';
    const sessions: string[] = [];
    const error = await CrossDbTransaction.run(async (tx) => {
      id = tx.id;
      await transfer('bank_s', 'bank_l', 10);
      await transfer('bank_s', 'bank_r', 20);
      for (const name of twoPhase) sessions.push(await currentSession(name));
      // Somebody recorded an abort for this transaction in the coordinator log.
      await log.decide(tx.id, 'aborted', []);
    }).catch((e: unknown) => e);
    committedEvents.stop();
    abortedEvents.stop();
    expect(error).toBeInstanceOf(HeuristicOutcomeError);
    expect(error).toMatchObject({ code: 'E_HEURISTIC_OUTCOME', transactionId: id, connection: 'bank_s' });
    expect((error as Error).message).toMatch(/the last resource committed but the coordinator log records an abort/);
    expect(committedEvents.events).toEqual([]);
    expect(abortedEvents.events).toEqual([]);
    // The last resource's COMMIT was the decision: it stands, and the prepared branches wait for recovery.
    expect(await balanceOf('bank_s')).toBe(970);
    for (const [i, name] of twoPhase.entries()) await waitForSessionsToEnd(name, [sessions[i]!]);
    expect(await ourBranches()).toEqual([`polyrec:${nodeId}:${id}:b1~bank_s`, `polyrec:${nodeId}:${id}:b2~bank_s`]);
    const result = await CrossDbTransaction.recover({ minAgeMs: 0 });
    expect(result.committed.map((b) => b.gid).sort()).toEqual([`polyrec:${nodeId}:${id}:b1~bank_s`, `polyrec:${nodeId}:${id}:b2~bank_s`]);
    expect([await balanceOf('bank_l'), await balanceOf('bank_r')]).toEqual([1010, 1020]);
    await expectNoPreparedLeft();
  });

  it('a lost reply to the decision write is read back (commits); an unwritable log leaves the branches for recovery', async () => {
    class LostReplyLog extends TableLog {
      override async decide(...args: Parameters<TableLog['decide']>): Promise<never> {
        await super.decide(...args);
        throw new Error('connection reset before the reply');
      }
    }
    await CrossDbTransaction.run(() => transfer('bank_l', 'bank_r', 10), { log: new LostReplyLog({ connection: 'txlog' }) });
    expect([await balanceOf('bank_l'), await balanceOf('bank_r')]).toEqual([990, 1010]);
    await expectNoPreparedLeft();

    class BrokenLog extends TableLog {
      override async decide(): Promise<never> {
        throw new Error('log database down');
      }
      override async get(): Promise<never> {
        throw new Error('log database down');
      }
    }
    const sessions: string[] = [];
    const error = await CrossDbTransaction.run(async () => {
      await transfer('bank_l', 'bank_r', 10);
      for (const name of twoPhase) sessions.push(await currentSession(name));
    }, { log: new BrokenLog({ connection: 'txlog' }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    expect((error as Error).message).toMatch(/stay prepared/);
    const id = (error as CrossDbTransactionError).transactionId;
    // The abandoned branches are recoverable once the server has seen their sessions end.
    for (const [i, name] of twoPhase.entries()) await waitForSessionsToEnd(name, [sessions[i]!]);
    expect(await ourBranches()).toEqual([`polyrec:${nodeId}:${id}:b0`, `polyrec:${nodeId}:${id}:b1`]);
    const recovered = await CrossDbTransaction.recover({ minAgeMs: 0 });
    expect(recovered.rolledBack.map((b) => b.gid).sort()).toEqual([`polyrec:${nodeId}:${id}:b0`, `polyrec:${nodeId}:${id}:b1`]);
    expect([await balanceOf('bank_l'), await balanceOf('bank_r')]).toEqual([990, 1010]);
    await expectNoPreparedLeft();
  });

  it('a transaction over its timeout before the decision rolls back', async () => {
    // The callbacks wait on gates the test opens only once run() has rejected: they outlive the timeout whatever the machine's speed.
    const firstGate = deferred();
    const firstFinished = deferred();
    const error = await CrossDbTransaction.run(
      async () => {
        try {
          await transfer('bank_l', 'bank_r', 10);
          await firstGate.promise;
        } finally {
          firstFinished.resolve();
        }
      },
      { timeoutMs: 100 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    expect((error as Error).message).toMatch(/within 100 ms/);
    firstGate.resolve();
    await firstFinished.promise;

    // The callback's late writes must not land either: they are refused, not autocommitted.
    const lateGate = deferred();
    const lateWrite = deferred<unknown>();
    const late = await CrossDbTransaction.run(
      async () => {
        await lateGate.promise;
        lateWrite.resolve(await transfer('bank_l', 'bank_r', 10).then(() => 'written', (e: unknown) => e));
      },
      { timeoutMs: 50 },
    ).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(CrossDbTransactionError);
    expect((late as Error).message).toMatch(/within 50 ms/);
    lateGate.resolve();
    const refused = await lateWrite.promise;
    expect(refused).toBeInstanceOf(TransactionError);
    expect(refused).toMatchObject({ code: 'E_TRANSACTION' });
    expect(await balanceOf('bank_l')).toBe(1000);
    expect(await balanceOf('bank_r')).toBe(1000);
    await expectNoPreparedLeft();
  });

  it('connections listed up front are enlisted before the callback; nested local transactions become savepoints of a branch', async () => {
    await CrossDbTransaction.run(
      async () => {
        expect(TransactionCoordinator.default.active()[0]!.participants.map((p) => [p.connection, p.outcome]).sort()).toEqual([
          ['bank_l', 'active'],
          ['bank_r', 'active'],
        ]);
        await ConnectionManager.transaction('bank_r', async () => {
          await Account.using('bank_r').where({ id: 1 }).update({ balance: 1 });
        });
        await ConnectionManager.transaction('bank_l', async () => {
          await Account.using('bank_l').where({ id: 1 }).update({ balance: 2 });
          throw new Error('inner');
        }).catch(() => undefined);
      },
      { connections: ['bank_l', 'bank_r'] },
    );
    expect(await balanceOf('bank_r')).toBe(1);
    expect(await balanceOf('bank_l')).toBe(1000);
  });

  it('@AfterCommit hooks fire after the global commit, never after a prepare or an abort', async () => {
    hookLog.length = 0;
    await CrossDbTransaction.run(async () => {
      for (const name of ['bank_l', 'bank_r']) {
        const account = await HookedAccount.using(name).findOrFail(1);
        account.balance += 5;
        await account.save();
      }
      expect(hookLog).toEqual([]);
    });
    expect(hookLog.sort()).toEqual(['committed:bank_l:1005', 'committed:bank_r:1005']);
    hookLog.length = 0;
    await CrossDbTransaction.run(async () => {
      const account = await HookedAccount.using('bank_r').findOrFail(1);
      account.balance += 5;
      await account.save();
      await Account.using('bank_l').rawQuery('select * from no_such_table');
    }).catch(() => undefined);
    expect(hookLog).toEqual([]);
    expect(await balanceOf('bank_r')).toBe(1005);
  });

  it('works with a FileLog, whose first decision for an id wins across instances (processes)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'polyrecord-filelog-')), 'tx.log');
    const log = new FileLog({ path });
    const id = await CrossDbTransaction.run(async (tx) => {
      await transfer('bank_l', 'bank_r', 10);
      return tx.id;
    }, { log });
    expect(await balanceOf('bank_r')).toBe(1010);
    // The "done" mark is written after run() resolves.
    await waitFor(async () => (await new FileLog({ path }).get(id))?.state === 'committed', 'the done mark in the file log');
    const first = new FileLog({ path });
    const second = new FileLog({ path });
    expect((await first.decide('race', 'aborted', [])).state).toBe('aborted');
    expect((await second.decide('race', 'committing', [])).state).toBe('aborted');
    expect(readFileSync(path, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(3);
  });

  it('startRecovery() rolls back an abandoned branch of ours in the background and reports stale branches', async () => {
    const gtrid = `polyrec:${nodeId}:${(Date.now() - 60_000).toString(36).padStart(9, '0')}0123456789`;
    for (const [i, name] of twoPhase.entries()) await leavePrepared(name, { gtrid, bqual: `b${i}` }, 'update accounts set balance = 0 where id = 1');
    expect(await ourBranches()).toEqual([`${gtrid}:b0`, `${gtrid}:b1`]);
    const stale = listen('staleBranch');
    const recovered = listen('recovered');
    const stop = CrossDbTransaction.startRecovery({ intervalMs: 50, minAgeMs: 0, warnAfterMs: 1 });
    await waitFor(async () => (await ourBranches()).length === 0, 'the background recovery to roll the branches back');
    await stop();
    stale.stop();
    recovered.stop();
    expect(await ourBranches()).toEqual([]);
    expect(stale.events.map((e) => e.gid)).toEqual(expect.arrayContaining([`${gtrid}:b0`, `${gtrid}:b1`]));
    expect(recovered.events.flatMap((r: RecoveryResult) => r.rolledBack.map((b) => b.gid)).sort()).toEqual([`${gtrid}:b0`, `${gtrid}:b1`]);
    expect([await balanceOf('bank_l'), await balanceOf('bank_r')]).toEqual([1000, 1000]);
  });

  it('50 concurrent transfers keep the total invariant', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        // Every transfer touches the databases in the same order (money flows both ways through the sign):
        // opposite orders would make a distributed deadlock that neither server can see.
        CrossDbTransaction.run(() => transfer('bank_l', 'bank_r', i % 2 === 0 ? 1 : -2)),
      ),
    );
    const committed = results.filter((r) => r.status === 'fulfilled').length;
    expect(committed).toBe(50);
    expect(await balanceOf('bank_l')).toBe(1000 - 25 + 50);
    expect((await balanceOf('bank_l')) + (await balanceOf('bank_r'))).toBe(2000);
    await expectNoPreparedLeft();
  }, 60_000);

});

describe('CrossDbTransaction [sqlite only]', () => {
  let drop: () => Promise<void>;
  let anotherLogDatabase: ConnectionConfig;
  beforeAll(async () => {
    const lite = await sqlite.provision(4);
    drop = lite.drop;
    anotherLogDatabase = lite.configs[3]!;
    ConnectionManager.configure('bank_s', lite.configs[0]!);
    ConnectionManager.configure('bank_s2', lite.configs[1]!);
    ConnectionManager.configure('txlog', lite.configs[2]!);
    CrossDbTransaction.configure({ log: 'txlog', nodeId: 'crossdb-sqlite' });
    for (const name of ['bank_s', 'bank_s2']) await createAccounts(ConnectionManager.get(name).knex);
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  it('a second participant without two-phase commit is refused', async () => {
    const error = await CrossDbTransaction.run(async () => {
      await transfer('bank_s', 'bank_s2', 10);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    expect((error as Error).message).toMatch(/last resource/);
    expect(await balanceOf('bank_s')).toBe(1000);
    expect(await balanceOf('bank_s2')).toBe(1000);
  });

  it('a log connection configured again under the same name, on another database, gets its log table there', async () => {
    const logged = async (id: string) => ((await ConnectionManager.get('txlog').knex(TX_LOG_TABLE).where({ id }).first()) as { state: string } | undefined)?.state;
    // A transaction with no participant still records its decision (and the done mark).
    const first = await CrossDbTransaction.run((tx) => tx.id);
    await waitFor(async () => (await logged(first)) === 'committed', 'the done mark on the first log database');
    await ConnectionManager.remove('txlog');
    ConnectionManager.configure('txlog', anotherLogDatabase);
    const second = await CrossDbTransaction.run((tx) => tx.id);
    await waitFor(async () => (await logged(second)) === 'committed', 'the done mark on the second log database');
    expect(await logged(first)).toBeUndefined();
    expect(await CrossDbTransaction.recover({ minAgeMs: 0 })).toEqual({ committed: [], rolledBack: [], unknown: [] });
  });
});
