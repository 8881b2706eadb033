import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ConnectionManager, QueryError, TransactionError } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { setUpPrimaryAndSecondary, truncateUsers, User } from './support/schema.js';

describeEachDialect('local transactions', (dialect) => {
  let teardown: () => Promise<void>;
  beforeAll(async () => {
    teardown = await setUpPrimaryAndSecondary(dialect);
  });
  afterAll(() => teardown());
  beforeEach(() => truncateUsers());

  const countOn = async (name: string) => Number((await ConnectionManager.get(name).knex('users').count({ n: '*' }))[0]!.n);

  it('commits and returns the callback result; every model query joins without passing trx', async () => {
    const result = await ConnectionManager.transaction('primary', async (trx) => {
      const user = await User.create({ email: 'a@t.io' });
      user.score = 5;
      await user.save();
      await User.bulkInsert([{ email: 'b@t.io' }, { email: 'c@t.io' }]);
      expect(await User.count()).toBe(3);
      // PostgreSQL answers count(*) as a bigint string; the value is what matters.
      expect(Number((await trx.query<{ n: number | string }>('select count(*) as n from users'))[0]!.n)).toBe(3);
      return 'done';
    });
    expect(result).toBe('done');
    expect(await countOn('primary')).toBe(3);
  });

  it('a thrown error rolls back everything and is rethrown', async () => {
    const boom = new Error('boom');
    await expect(
      User.transaction(async () => {
        await User.create({ email: 'gone@t.io' });
        await User.where({ email: 'gone@t.io' }).update({ score: 3 });
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await countOn('primary')).toBe(0);
  });

  it('is invisible to other connections and to concurrent work outside it until commit', async () => {
    /**
     * Counts the pending row from a session other than the transaction's. Servers: another
     * pooled connection. SQLite has one gated connection per database in this library (work
     * outside the transaction queues behind it), so another connection to the same file is
     * opened with better-sqlite3 directly, as another process would.
     */
    const countPendingElsewhere = async (): Promise<number> => {
      if (dialect.driver !== 'sqlite') return User.where({ email: 'pending@t.io' }).count();
      const other = new Database(ConnectionManager.get('primary').settings.database, { readonly: true });
      try {
        return (other.prepare('select count(*) as n from users where email = ?').get('pending@t.io') as { n: number }).n;
      } finally {
        other.close();
      }
    };
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inside!: () => void;
    const started = new Promise<void>((resolve) => (inside = resolve));
    const trx = ConnectionManager.transaction('primary', async () => {
      await User.create({ email: 'pending@t.io' });
      await User.using('secondary').create({ email: 'other-db@t.io' });
      inside();
      await gate;
    });
    await started;
    // The write on secondary is not part of the primary transaction: it is already committed.
    expect(await countOn('secondary')).toBe(1);
    // A separate connection does not see the uncommitted row.
    expect(await countPendingElsewhere()).toBe(0);
    // Concurrent model work outside the transaction never reads the uncommitted row either
    // (on SQLite it waits for the gated connection, so it cannot have settled yet).
    let outsideSettled = false;
    const outside = User.where({ email: 'pending@t.io' })
      .count()
      .finally(() => (outsideSettled = true));
    if (dialect.driver === 'sqlite') {
      await new Promise((resolve) => setImmediate(resolve));
      expect(outsideSettled).toBe(false);
      release();
      await trx;
      // It ran after the commit, and saw the committed row.
      expect(await outside).toBe(1);
    } else {
      expect(await outside).toBe(0);
      release();
      await trx;
    }
    expect(await countPendingElsewhere()).toBe(1);
    expect(await User.where({ email: 'pending@t.io' }).count()).toBe(1);
  });

  it('nested calls make savepoints: an inner failure rolls back only the inner work', async () => {
    await User.transaction(async () => {
      await User.create({ email: 'outer@t.io' });
      await expect(
        User.transaction(async (inner) => {
          expect(inner.depth).toBe(1);
          await User.create({ email: 'inner@t.io' });
          throw new Error('inner failure');
        }),
      ).rejects.toThrow('inner failure');
      await User.transaction(async () => {
        await User.create({ email: 'inner-ok@t.io' });
        await User.transaction(() => User.create({ email: 'deep@t.io' }));
      });
    });
    expect((await User.orderBy('email').pluck('email'))).toEqual(['deep@t.io', 'inner-ok@t.io', 'outer@t.io']);
  });

  it.skipIf(dialect.driver === 'sqlite')('a deadlock inside a savepoint is reported as the deadlock, also where the server rolled the whole transaction back (MariaDB)', async () => {
    const a = await User.create({ email: 'a@t.io', score: 0 });
    const b = await User.create({ email: 'b@t.io', score: 0 });
    // Each transaction locks one row, waits for the other to lock its row, then takes the other's row in a savepoint.
    let arrived = 0;
    let open!: () => void;
    const bothLocked = new Promise<void>((resolve) => (open = resolve));
    const cross = (first: number, second: number) =>
      User.transaction(async () => {
        await User.where('id', first).update({ score: 1 });
        if (++arrived === 2) open();
        await bothLocked;
        await User.transaction(() => User.where('id', second).update({ score: 2 }));
      });
    const outcomes = await Promise.allSettled([cross(a.id, b.id), cross(b.id, a.id)]);
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(QueryError);
    expect((failures[0] as QueryError).driverCode).toBe(dialect.driver === 'postgresql' ? '40P01' : 'ER_LOCK_DEADLOCK');
    // Only the winner's writes stayed: its first row 1, its second 2.
    expect((await User.whereIn('id', [a.id, b.id]).pluck('score')).sort()).toEqual([1, 2]);
  });

  it.skipIf(dialect.driver !== 'mysql')('after the server rolled the whole transaction back under a savepoint, the transaction takes no more statements and does not commit', async () => {
    const a = await User.create({ email: 'a@t.io', score: 0 });
    const b = await User.create({ email: 'b@t.io', score: 0 });
    let arrived = 0;
    let open!: () => void;
    const bothLocked = new Promise<void>((resolve) => (open = resolve));
    const cross = (first: number, second: number, email: string) =>
      User.transaction(async () => {
        await User.where('id', first).update({ score: 1 });
        if (++arrived === 2) open();
        await bothLocked;
        // The deadlock is caught here, as an application might: what follows must not run outside the transaction.
        const lost = await User.transaction(() => User.where('id', second).update({ score: 2 })).then(() => false, () => true);
        if (lost) await User.create({ email });
      });
    const outcomes = await Promise.allSettled([cross(a.id, b.id, 'late-a@t.io'), cross(b.id, a.id, 'late-b@t.io')]);
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(TransactionError);
    expect(await User.whereIn('email', ['late-a@t.io', 'late-b@t.io']).count()).toBe(0);
  });

  it('an outer rollback undoes released savepoints too', async () => {
    await expect(
      User.transaction(async () => {
        await User.transaction(() => User.create({ email: 'inner@t.io' }));
        throw new Error('outer failure');
      }),
    ).rejects.toThrow('outer failure');
    expect(await User.count()).toBe(0);
  });

  it('concurrent nested transactions on one connection are serialized, not interleaved', async () => {
    await User.transaction(async () => {
      await Promise.all([
        User.transaction(async () => {
          await User.create({ email: 'x1@t.io' });
          await new Promise((r) => setTimeout(r, 5));
          throw new Error('x fails');
        }).catch(() => undefined),
        User.transaction(async () => {
          await User.create({ email: 'y1@t.io' });
        }),
      ]);
    });
    expect(await User.pluck('email')).toEqual(['y1@t.io']);
  });

  it('afterCommit runs after commit only; afterRollback after rollback only', async () => {
    const events: string[] = [];
    await User.transaction(async (trx) => {
      trx.afterCommit(() => events.push('outer committed'));
      trx.afterRollback(() => events.push('outer rolled back'));
      await User.transaction(async (sp) => {
        sp.afterCommit(() => events.push('savepoint committed'));
      });
      await User.transaction(async (sp) => {
        sp.afterCommit(() => events.push('failed savepoint committed'));
        sp.afterRollback(() => events.push('failed savepoint rolled back'));
        throw new Error('x');
      }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 5));
      // The failed savepoint's rollback is final at once; nothing has committed yet.
      expect(events).toEqual(['failed savepoint rolled back']);
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(events.sort()).toEqual(['failed savepoint rolled back', 'outer committed', 'savepoint committed']);
  });

  it('a finished transaction refuses to run queries', async () => {
    let saved: import('../src/index.js').Transaction | undefined;
    await User.transaction(async (trx) => {
      saved = trx;
    });
    expect(saved!.isActive).toBe(false);
    await expect(saved!.query('select 1')).rejects.toBeInstanceOf(TransactionError);
    await expect(saved!.query('select 1')).rejects.toMatchObject({ code: 'E_TRANSACTION' });
  });

  it('trx.table() builds knex queries inside the transaction', async () => {
    await expect(
      ConnectionManager.transaction('primary', async (trx) => {
        await trx.table('users').insert({ email: 'knex@t.io' });
        expect(await User.where({ email: 'knex@t.io' }).count()).toBe(1);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await User.count()).toBe(0);
  });

  it('the pool stays healthy after failed transactions', async () => {
    for (let i = 0; i < 15; i++) {
      await User.transaction(async () => {
        await User.create({ email: `dup@t.io` });
        await User.create({ email: `dup@t.io` });
      }).catch(() => undefined);
    }
    expect(await User.count()).toBe(0);
    await User.create({ email: 'after@t.io' });
    expect(await User.count()).toBe(1);
  });
});
