import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
  Model,
  PrimaryKey,
  QueryError,
  TableLog,
  TransactionCoordinator,
  TransactionError,
  TX_LOG_TABLE,
  type ConnectionConfig,
  type DriverName,
} from '../src/index.js';
import { Account, balanceOf, createAccounts, transfer } from './support/accounts.js';
import { DIALECTS } from './support/dialects.js';
import { ourPreparedBranches } from './support/prepared.js';
import { deferred, waitFor } from './support/wait.js';

const postgres = DIALECTS.find((d) => d.driver === 'postgresql');
const mariadb = DIALECTS.find((d) => d.driver === 'mysql');
const sqlite = DIALECTS.find((d) => d.driver === 'sqlite')!;

const hookLog: string[] = [];

/** The driver's code for "no such table", as QueryError.driverCode carries it. */
const NO_SUCH_TABLE: Record<DriverName, string> = { postgresql: '42P01', mysql: 'ER_NO_SUCH_TABLE', sqlite: 'SQLITE_ERROR' };

/** The accounts table with an @AfterCommit hook. */
@Model({ connection: 'bank_a', table: 'accounts' })
class HookedAccount extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) balance!: number;
  @AfterCommit() committed() {
    hookLog.push(`committed:${this.connectionName}:${this.balance}`);
  }
}

describe.runIf(postgres && mariadb)('CrossDbTransaction [postgresql + mysql + sqlite]', () => {
  const drops: Array<() => Promise<void>> = [];
  const names = ['bank_a', 'bank_b', 'bank_m', 'bank_s'];
  beforeAll(async () => {
    const pg = await postgres!.provision(2);
    const my = await mariadb!.provision(1);
    const lite = await sqlite.provision(2);
    drops.push(pg.drop, my.drop, lite.drop);
    const configs: ConnectionConfig[] = [pg.configs[0]!, pg.configs[1]!, my.configs[0]!, lite.configs[0]!];
    names.forEach((name, i) => ConnectionManager.configure(name, configs[i]!));
    ConnectionManager.configure('txlog', lite.configs[1]!);
    CrossDbTransaction.configure({ log: 'txlog', nodeId: 'crossdb-test' });
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  });
  beforeEach(async () => {
    for (const name of names) await createAccounts(ConnectionManager.get(name).knex);
  });

  const expectNoPreparedLeft = async () => {
    for (const name of ['bank_a', 'bank_b', 'bank_m']) expect(await ourPreparedBranches(name, 'crossdb-test')).toEqual([]);
  };

  for (const [from, to, label] of [
    ['bank_a', 'bank_m', 'PostgreSQL + MariaDB'],
    ['bank_a', 'bank_b', 'PostgreSQL + PostgreSQL (two databases)'],
    ['bank_s', 'bank_m', 'SQLite (last resource) + MariaDB'],
    ['bank_s', 'bank_a', 'SQLite (last resource) + PostgreSQL'],
  ] as const) {
    it(`commits on both sides: ${label}`, async () => {
      const events: string[] = [];
      const listener = (e: { id: string }) => events.push(e.id);
      TransactionCoordinator.default.events.on('committed', listener);
      const result = await CrossDbTransaction.run(async (tx) => {
        expect(tx.id).toMatch(/^[0-9a-z]{19}$/);
        await transfer(from, to, 10);
        expect(TransactionCoordinator.default.active().map((t) => t.id)).toContain(tx.id);
        return tx.id;
      });
      TransactionCoordinator.default.events.off('committed', listener);
      expect(events).toEqual([result]);
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
        expect(error).toMatchObject({ code: 'E_QUERY', connection: failOn, driverCode: NO_SUCH_TABLE[ConnectionManager.get(failOn).driver] });
        expect(await balanceOf(from)).toBe(1000);
        expect(await balanceOf(to)).toBe(1000);
      }
      await expectNoPreparedLeft();
    });
  }

  it('a NO vote at prepare (PostgreSQL answers PREPARE with ROLLBACK) rolls back both', async () => {
    const error = await CrossDbTransaction.run(async () => {
      // Model writes through save() join the branches too.
      const account = await Account.using('bank_m').findOrFail(1);
      account.balance -= 10;
      await account.save();
      // The error is swallowed by the caller, but the PostgreSQL branch is now aborted.
      await Account.using('bank_a').rawQuery('select * from no_such_table').catch(() => undefined);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    expect((error as CrossDbTransactionError).outcomes.map((o) => o.connection).sort()).toEqual(['bank_a', 'bank_m']);
    expect(await balanceOf('bank_a')).toBe(1000);
    expect(await balanceOf('bank_m')).toBe(1000);
    await expectNoPreparedLeft();
  });

  it('a lost reply to the decision write is read back (commits); an unwritable log leaves the branches for recovery', async () => {
    class LostReplyLog extends TableLog {
      override async decide(...args: Parameters<TableLog['decide']>): Promise<never> {
        await super.decide(...args);
        throw new Error('connection reset before the reply');
      }
    }
    await CrossDbTransaction.run(() => transfer('bank_a', 'bank_m', 10), { log: new LostReplyLog({ connection: 'txlog' }) });
    expect([await balanceOf('bank_a'), await balanceOf('bank_m')]).toEqual([990, 1010]);
    await expectNoPreparedLeft();

    class BrokenLog extends TableLog {
      override async decide(): Promise<never> {
        throw new Error('log database down');
      }
      override async get(): Promise<never> {
        throw new Error('log database down');
      }
    }
    const error = await CrossDbTransaction.run(() => transfer('bank_a', 'bank_m', 10), { log: new BrokenLog({ connection: 'txlog' }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    expect((error as Error).message).toMatch(/stay prepared/);
    expect(await ourPreparedBranches('bank_a', 'crossdb-test')).toHaveLength(1);
    // The abandoned MariaDB branch is recoverable once the server has seen its session close.
    await waitFor(async () => (await ourPreparedBranches('bank_m', 'crossdb-test')).length === 1, 'the MariaDB branch to be listed as prepared');
    const recovered = await CrossDbTransaction.recover({ minAgeMs: 0 });
    expect(recovered.rolledBack.map((b) => b.connection).sort()).toEqual(['bank_a', 'bank_m']);
    expect([await balanceOf('bank_a'), await balanceOf('bank_m')]).toEqual([990, 1010]);
    await expectNoPreparedLeft();
  });

  it('a second participant without two-phase commit is refused', async () => {
    ConnectionManager.configure('bank_s2', { driver: 'sqlite', database: ':memory:' });
    await createAccounts(ConnectionManager.get('bank_s2').knex);
    const error = await CrossDbTransaction.run(async () => {
      await transfer('bank_s', 'bank_s2', 10);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    expect((error as Error).message).toMatch(/last resource/);
    expect(await balanceOf('bank_s')).toBe(1000);
    await ConnectionManager.remove('bank_s2');
  });

  it('a transaction over its timeout before the decision rolls back', async () => {
    // The callbacks wait on gates the test opens only once run() has rejected: they outlive the timeout whatever the machine's speed.
    const firstGate = deferred();
    const firstFinished = deferred();
    const error = await CrossDbTransaction.run(
      async () => {
        try {
          await transfer('bank_a', 'bank_m', 10);
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
        lateWrite.resolve(await transfer('bank_a', 'bank_m', 10).then(() => 'written', (e: unknown) => e));
      },
      { timeoutMs: 50 },
    ).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(CrossDbTransactionError);
    expect((late as Error).message).toMatch(/within 50 ms/);
    lateGate.resolve();
    const refused = await lateWrite.promise;
    expect(refused).toBeInstanceOf(TransactionError);
    expect(refused).toMatchObject({ code: 'E_TRANSACTION' });
    expect(await balanceOf('bank_a')).toBe(1000);
    expect(await balanceOf('bank_m')).toBe(1000);
    await expectNoPreparedLeft();
  });

  it('connections listed up front are enlisted before the callback; nested local transactions become savepoints of a branch', async () => {
    await CrossDbTransaction.run(
      async () => {
        await ConnectionManager.transaction('bank_m', async () => {
          await Account.using('bank_m').where({ id: 1 }).update({ balance: 1 });
        });
        await ConnectionManager.transaction('bank_a', async () => {
          await Account.using('bank_a').where({ id: 1 }).update({ balance: 2 });
          throw new Error('inner');
        }).catch(() => undefined);
        expect(TransactionCoordinator.default.active()[0]!.participants.map((p) => p.connection).sort()).toEqual(['bank_a', 'bank_m']);
      },
      { connections: ['bank_a', 'bank_m'] },
    );
    expect(await balanceOf('bank_m')).toBe(1);
    expect(await balanceOf('bank_a')).toBe(1000);
  });

  it('@AfterCommit hooks fire after the global commit, never after a prepare or an abort', async () => {
    hookLog.length = 0;
    await CrossDbTransaction.run(async () => {
      for (const name of ['bank_a', 'bank_m']) {
        const account = await HookedAccount.using(name).findOrFail(1);
        account.balance += 5;
        await account.save();
      }
      expect(hookLog).toEqual([]);
    });
    expect(hookLog.sort()).toEqual(['committed:bank_a:1005', 'committed:bank_m:1005']);
    hookLog.length = 0;
    await CrossDbTransaction.run(async () => {
      const account = await HookedAccount.using('bank_m').findOrFail(1);
      account.balance += 5;
      await account.save();
      await Account.using('bank_a').rawQuery('select * from no_such_table');
    }).catch(() => undefined);
    expect(hookLog).toEqual([]);
    expect(await balanceOf('bank_m')).toBe(1005);
  });

  it('works with a FileLog, whose first decision for an id wins across instances (processes)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'polyrecord-filelog-')), 'tx.log');
    const log = new FileLog({ path });
    const id = await CrossDbTransaction.run(async (tx) => {
      await transfer('bank_a', 'bank_m', 10);
      return tx.id;
    }, { log });
    expect(await balanceOf('bank_m')).toBe(1010);
    // The "done" mark is written after run() resolves.
    await waitFor(async () => (await new FileLog({ path }).get(id))?.state === 'committed', 'the done mark in the file log');
    const first = new FileLog({ path });
    const second = new FileLog({ path });
    expect((await first.decide('race', 'aborted', [])).state).toBe('aborted');
    expect((await second.decide('race', 'committing', [])).state).toBe('aborted');
    expect(readFileSync(path, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(3);
  });

  it('startRecovery() rolls back an abandoned branch of ours in the background and reports stale branches', async () => {
    const gtrid = `polyrec:crossdb-test:${(Date.now() - 60_000).toString(36).padStart(9, '0')}0123456789`;
    await ConnectionManager.get('bank_a').knex.transaction(async (trx) => {
      await trx.raw('update accounts set balance = 0 where id = 1');
      await trx.raw(`PREPARE TRANSACTION '${gtrid}:b0'`);
    }).catch(() => undefined);
    expect(await ourPreparedBranches('bank_a', 'crossdb-test')).toEqual([`${gtrid}:b0`]);
    const stale: string[] = [];
    const onStale = (e: { gid: string }) => stale.push(e.gid);
    TransactionCoordinator.default.events.on('staleBranch', onStale);
    const stop = CrossDbTransaction.startRecovery({ intervalMs: 50, minAgeMs: 0, warnAfterMs: 1 });
    await waitFor(async () => (await ourPreparedBranches('bank_a', 'crossdb-test')).length === 0, 'the background recovery to roll the branch back');
    await stop();
    TransactionCoordinator.default.events.off('staleBranch', onStale);
    expect(await ourPreparedBranches('bank_a', 'crossdb-test')).toEqual([]);
    expect(stale).toContain(`${gtrid}:b0`);
    expect(await balanceOf('bank_a')).toBe(1000);
  });

  it('50 concurrent transfers keep the total invariant', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        // Every transfer touches the databases in the same order (money flows both ways through the sign):
        // opposite orders would make a distributed deadlock that neither server can see.
        CrossDbTransaction.run(() => transfer('bank_a', 'bank_m', i % 2 === 0 ? 1 : -2)),
      ),
    );
    const committed = results.filter((r) => r.status === 'fulfilled').length;
    expect(committed).toBe(50);
    expect(await balanceOf('bank_a')).toBe(1000 - 25 + 50);
    expect((await balanceOf('bank_a')) + (await balanceOf('bank_m'))).toBe(2000);
    await expectNoPreparedLeft();
  }, 60_000);
});
