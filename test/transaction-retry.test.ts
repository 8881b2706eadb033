import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ConfigError, ConnectionManager, DeadlockError, SerializationFailureError, UniqueViolationError, type Transaction } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { deferred } from './support/wait.js';

// transaction(fn, { retry }): the whole callback runs again when the database gave up on the transaction.
describeEachDialect('transactions with retry', (dialect) => {
  const manager = new ConnectionManager();
  const driver = dialect.driver;
  const servers = driver !== 'sqlite';
  let drop: () => Promise<void>;
  const run = (sql: string) => manager.get('outside').execute(sql, []);
  const scoreOf = async (id: number) => Number((await run(`select score from items where id = ${id}`)).rows[0]!.score);
  // A snapshot that a concurrent write makes stale: PostgreSQL REPEATABLE READ, MariaDB's snapshot isolation.
  const snapshotIsolation = driver === 'postgresql' ? 'set transaction isolation level repeatable read' : 'set session innodb_snapshot_isolation = on';

  /** Reads item 1, lets `meanwhile` change it from outside, then writes it: a serialization failure when it did. */
  const readThenWrite = async (trx: Transaction, meanwhile: boolean) => {
    await trx.query(snapshotIsolation);
    const [row] = await trx.query<{ score: number }>('select score from items where id = 1');
    if (meanwhile) await run('update items set score = score + 100 where id = 1');
    await trx.query('update items set score = ? where id = 1', [Number(row!.score) + 1]);
  };

  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    manager.configure('main', provisioned.configs[0]!);
    manager.configure('outside', provisioned.configs[0]!);
    await run('create table items (id integer primary key, name varchar(20) not null unique, score integer not null)');
  });
  beforeEach(async () => {
    await run('delete from items');
    await run("insert into items (id, name, score) values (1, 'a', 0), (2, 'b', 0)");
  });
  afterAll(async () => {
    await manager.closeAll();
    await drop();
  });

  it.runIf(servers)('reruns the whole callback after a serialization failure; after-commit callbacks run once, for the run that committed', async () => {
    let runs = 0;
    const committed: number[] = [];
    const result = await manager.transaction(
      'main',
      async (trx) => {
        const mine = ++runs;
        trx.afterCommit(() => void committed.push(mine));
        await readThenWrite(trx, mine === 1);
        return mine;
      },
      { retry: { attempts: 3, baseMs: 1 } },
    );
    expect(result).toBe(2);
    expect(committed).toEqual([2]);
    // The outside write, then the second run's own: the first run's write is gone with its rollback.
    expect(await scoreOf(1)).toBe(101);
  });

  it.runIf(servers)('gives up after the last attempt with the database error, which says how many runs there were', async () => {
    let runs = 0;
    const error = await manager
      .transaction(
        'main',
        async (trx) => {
          runs++;
          await readThenWrite(trx, true);
        },
        { retry: { attempts: 2, baseMs: 1 } },
      )
      .catch((e: unknown) => e);
    expect(runs).toBe(2);
    expect(error).toBeInstanceOf(SerializationFailureError);
    expect(error).toMatchObject({ attempts: 2, message: expect.stringMatching(/\(the transaction ran 2 times\)$/) });
    expect(await scoreOf(1)).toBe(200);
  });

  it.runIf(servers)('two transactions that deadlock both commit in the end, each exactly once', async () => {
    const locked = [deferred(), deferred()];
    const runs = [0, 0];
    const both = (k: 0 | 1, first: number, second: number) =>
      manager.transaction(
        'main',
        async (trx) => {
          runs[k]!++;
          await trx.query(`update items set score = score + 1 where id = ${first}`);
          locked[k]!.resolve();
          // Only the first runs wait for each other: a rerun goes straight through.
          await locked[1 - k]!.promise;
          await trx.query(`update items set score = score + 10 where id = ${second}`);
        },
        { retry: { attempts: 3, baseMs: 5 } },
      );
    await Promise.all([both(0, 1, 2), both(1, 2, 1)]);
    expect(runs.sort()).toEqual([1, 2]);
    expect([await scoreOf(1), await scoreOf(2)]).toEqual([11, 11]);
  });

  it.runIf(servers)('without retry a deadlock still fails the transaction (retry is asked for, never assumed)', async () => {
    const locked = [deferred(), deferred()];
    const both = (k: 0 | 1, first: number, second: number) =>
      manager.transaction('main', async (trx) => {
        await trx.query(`update items set score = score + 1 where id = ${first}`);
        locked[k]!.resolve();
        await locked[1 - k]!.promise;
        await trx.query(`update items set score = score + 10 where id = ${second}`);
      });
    const outcomes = await Promise.allSettled([both(0, 1, 2), both(1, 2, 1)]);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason)).toEqual([expect.any(DeadlockError)]);
  });

  it.runIf(servers)('a nested transaction is a savepoint and does not retry by itself: the outermost one reruns', async () => {
    const runs = { outer: 0, inner: 0 };
    await manager.transaction(
      'main',
      async (outer) => {
        runs.outer++;
        await outer.query(snapshotIsolation);
        await manager.transaction(
          'main',
          async (trx) => {
            runs.inner++;
            const [row] = await trx.query<{ score: number }>('select score from items where id = 1');
            if (runs.outer === 1) await run('update items set score = score + 100 where id = 1');
            await trx.query('update items set score = ? where id = 1', [Number(row!.score) + 1]);
          },
          { retry: 5 },
        );
      },
      { retry: { attempts: 3, baseMs: 1 } },
    );
    expect(runs).toEqual({ outer: 2, inner: 2 });
    expect(await scoreOf(1)).toBe(101);
  });

  it('a transaction that failed for another reason runs once, even with retry', async () => {
    let runs = 0;
    const error = await manager
      .transaction(
        'main',
        async (trx) => {
          runs++;
          await trx.query("insert into items (id, name, score) values (3, 'a', 0)");
        },
        { retry: 5 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UniqueViolationError);
    expect(runs).toBe(1);
    expect((error as UniqueViolationError).attempts).toBeUndefined();
  });

  it('bad retry options are a ConfigError, and nothing runs', async () => {
    let runs = 0;
    const fn = async () => void runs++;
    for (const retry of [0, 1.5, 'twice', { attempts: 2, jitter: true }, { baseMs: -1 }]) {
      const error = await manager.transaction('main', fn, { retry: retry as never }).catch((e: unknown) => e);
      expect(error, JSON.stringify(retry)).toBeInstanceOf(ConfigError);
    }
    expect(runs).toBe(0);
  });
});
