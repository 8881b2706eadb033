import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, LockNotAvailableError, Model, PrimaryKey, QueryBuilderError, QueryError, TransactionError } from '../src/index.js';
import { describeEachDialect, type DialectFixture } from './support/dialects.js';
import { deferred, waitFor } from './support/wait.js';

@Model({ connection: 'primary', table: 'seats' })
class Seat extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) holder!: string;
}

/** Sessions of this test's database waiting for a row lock, as the server itself reports them. */
async function lockWaiters(dialect: DialectFixture): Promise<number> {
  const knex = ConnectionManager.get('primary').knex;
  if (dialect.driver === 'postgresql') {
    const { rows } = await knex.raw("select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
    return Number(rows[0].n);
  }
  // MariaDB may hold a locking read of one primary key in its optimizer ("Statistics"), before InnoDB lists it as a
  // lock wait: count the locking reads still running on this database (the test then checks they read the committed write).
  const [rows] = await knex.raw(
    "select count(*) as n from information_schema.processlist where db = database() and id <> connection_id() and command = 'Query' and info like 'select%for update'",
  );
  return Number(rows[0].n);
}

describeEachDialect('row locking', (dialect) => {
  const rowLocks = dialect.driver !== 'sqlite';
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('primary', provisioned.configs[0]!);
    await ConnectionManager.get('primary').knex.schema.createTable('seats', (t) => {
      t.increments('id');
      t.string('holder', 16).notNullable();
    });
    await Seat.bulkInsert([{ holder: 'nobody' }, { holder: 'nobody' }, { holder: 'nobody' }]);
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  it('a locking read outside a transaction is refused with TransactionError, on every dialect', async () => {
    await expect(Seat.where('id', 1).forUpdate().all()).rejects.toBeInstanceOf(TransactionError);
    await expect(Seat.query().forShare().first()).rejects.toBeInstanceOf(TransactionError);
    await expect(Seat.query().forUpdate().skipLocked().pluck('id')).rejects.toBeInstanceOf(TransactionError);
  });

  it('locks apply to row reads only, and skipLocked/noWait need a lock first', async () => {
    expect(() => Seat.query().skipLocked()).toThrow(QueryBuilderError);
    expect(() => Seat.query().noWait()).toThrow(QueryBuilderError);
    await Seat.transaction(async () => {
      await expect(Seat.query().forUpdate().count()).rejects.toBeInstanceOf(QueryBuilderError);
      await expect(Seat.query().forUpdate().update({ holder: 'x' })).rejects.toBeInstanceOf(QueryBuilderError);
      expect(() => Seat.query().forUpdate().groupBy('holder')).toThrow(QueryBuilderError);
    });
  });

  it('inside a transaction a locking read returns the rows (on SQLite the lock is a no-op)', async () => {
    const rows = await Seat.transaction(() => Seat.query().forUpdate().orderBy('id').all());
    expect(rows.map((s) => s.id)).toEqual([1, 2, 3]);
    expect(await Seat.transaction(() => Seat.where('id', 2).forShare().noWait().pluck('id'))).toEqual([2]);
    expect(await Seat.transaction(() => Seat.query().forUpdate().skipLocked().orderBy('id').first())).toMatchObject({ id: 1 });
    expect(Seat.query().forUpdate().toSQL().sql.toLowerCase().includes('for update')).toBe(rowLocks);
  });

  it.runIf(rowLocks)('forUpdate: a second transaction blocks until the first commits, then reads its write', { timeout: 60_000 }, async () => {
    const locked = deferred();
    const release = deferred();
    const first = Seat.transaction(async () => {
      const seat = await Seat.where('id', 1).forUpdate().first();
      locked.resolve();
      await release.promise;
      seat!.holder = 'first';
      await seat!.save();
    });
    await locked.promise;
    let secondRead: string | undefined;
    const second = Seat.transaction(async () => {
      const seat = await Seat.where('id', 1).forUpdate().first();
      secondRead = seat!.holder;
      seat!.holder = 'second';
      await seat!.save();
    });
    try {
      // Until the server reports the second transaction waiting for the lock (or it reads, which fails the test).
      // The bound is generous, below InnoDB's 50 s lock wait timeout: a loaded server can take seconds to get there.
      await waitFor(async () => secondRead !== undefined || (await lockWaiters(dialect)) === 1, 'the second transaction to wait for the row lock', 45_000);
      expect(secondRead).toBeUndefined();
    } finally {
      release.resolve();
      await first;
      await second;
    }
    expect(secondRead).toBe('first');
    expect((await Seat.findOrFail(1)).holder).toBe('second');
  });

  it.runIf(rowLocks)('skipLocked leaves out the rows another transaction has locked', async () => {
    const locked = deferred();
    const release = deferred();
    const first = Seat.transaction(async () => {
      await Seat.where('id', 2).forUpdate().all();
      locked.resolve();
      await release.promise;
    });
    await locked.promise;
    try {
      const free = await Seat.transaction(() => Seat.query().forUpdate().skipLocked().orderBy('id').pluck('id'));
      expect(free).toEqual([1, 3]);
      const shared = await Seat.transaction(() => Seat.query().forShare().skipLocked().orderBy('id').pluck('id'));
      expect(shared).toEqual([1, 3]);
    } finally {
      release.resolve();
      await first;
    }
    expect(await Seat.transaction(() => Seat.query().forUpdate().skipLocked().pluck('id'))).toHaveLength(3);
  });

  it.runIf(rowLocks)('noWait fails at once with LockNotAvailableError (a QueryError, code E_LOCK_NOT_AVAILABLE); shared locks do not conflict', async () => {
    const locked = deferred();
    const release = deferred();
    const first = Seat.transaction(async () => {
      await Seat.where('id', 3).forShare().all();
      locked.resolve();
      await release.promise;
    });
    await locked.promise;
    try {
      // Another shared lock is granted at once.
      expect(await Seat.transaction(() => Seat.where('id', 3).forShare().noWait().pluck('id'))).toEqual([3]);
      const error = await Seat.transaction(() => Seat.where('id', 3).forUpdate().noWait().all()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockNotAvailableError);
      expect(error).toBeInstanceOf(QueryError);
      expect((error as LockNotAvailableError).code).toBe('E_LOCK_NOT_AVAILABLE');
      expect((error as LockNotAvailableError).connection).toBe('primary');
      // The other rows are free.
      expect(await Seat.transaction(() => Seat.where('id', 1).forUpdate().noWait().pluck('id'))).toEqual([1]);
    } finally {
      release.resolve();
      await first;
    }
    expect(await Seat.transaction(() => Seat.where('id', 3).forUpdate().noWait().pluck('id'))).toEqual([3]);
  });
});
