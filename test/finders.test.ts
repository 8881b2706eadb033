import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ActiveRecord, BeforeCreate, Column, ConnectionManager, Model, PrimaryKey, QueryBuilderError, RecordNotFoundError, ValidationError } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

/**
 * Holds the first `parties` callers of `wait()` until all of them arrived (forcing two
 * clients into the same race window); once open, it lets every later caller through.
 */
class Barrier {
  #waiting: Array<() => void> = [];
  #open = false;
  constructor(private readonly parties: number) {}
  wait(): Promise<void> {
    if (this.#open) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      if (this.#waiting.length >= this.parties) {
        this.#open = true;
        for (const release of this.#waiting.splice(0)) release();
      }
    });
  }
}

let barrier: Barrier | undefined;

@Model({ connection: 'primary', table: 'accounts' })
class Account extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'string' }) plan!: string | null;
  @Column({ type: 'integer' }) credits = 0;
  @Column({ type: 'bigint' }) points!: bigint | null;

  /** Both racing clients looked the key up and found nothing before either inserts. */
  @BeforeCreate()
  async raceWindow(): Promise<void> {
    await barrier?.wait();
  }
}

describeEachDialect('finders, find-or-create and counters', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('primary', { ...provisioned.configs[0]!, pool: { min: 0, max: 4 } });
    await ConnectionManager.get('primary').knex.schema.createTable('accounts', (t) => {
      t.increments('id');
      t.string('email').notNullable().unique();
      t.string('plan');
      t.integer('credits').notNullable().defaultTo(0);
      t.bigInteger('points');
    });
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });
  beforeEach(async () => {
    barrier = undefined;
    await ConnectionManager.get('primary').knex('accounts').delete();
  });

  it('findBy and findByOrFail find by conditions; the error names the model and the conditions', async () => {
    await Account.create({ email: 'a@x', plan: 'pro' });
    expect((await Account.findBy({ email: 'a@x' }))?.plan).toBe('pro');
    expect(await Account.findBy({ email: 'a@x', plan: 'free' })).toBeNull();
    expect((await Account.findByOrFail({ plan: 'pro' })).email).toBe('a@x');
    const error = await Account.findByOrFail({ email: 'nobody@x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordNotFoundError);
    expect((error as RecordNotFoundError).model).toBe('Account');
    expect((error as RecordNotFoundError).key).toEqual({ email: 'nobody@x' });
    expect((error as Error).message).toContain('"email":"nobody@x"');
  });

  it('findMany returns the records in the order of the keys, missing ones left out, repeats once', async () => {
    const [a, b, c] = [await Account.create({ email: 'a' }), await Account.create({ email: 'b' }), await Account.create({ email: 'c' })];
    const found = await Account.findMany([c!.id, 999_999, a!.id, String(b!.id), c!.id]);
    expect(found.map((r) => r.email)).toEqual(['c', 'a', 'b']);
    expect(await Account.findMany([])).toEqual([]);
    await expect(Account.findMany('1' as never)).rejects.toBeInstanceOf(QueryBuilderError);
    await expect(Account.findMany([1.5])).rejects.toBeInstanceOf(ValidationError);
    // Any length: past the inline list limit the keys are bound as one value.
    const many = Array.from({ length: 3_000 }, (_, i) => 100_000 + i);
    expect((await Account.findMany([...many, b!.id])).map((r) => r.email)).toEqual(['b']);
  });

  it('firstOrCreate finds, or creates from search and extra', async () => {
    const created = await Account.firstOrCreate({ email: 'a@x' }, { plan: 'pro' });
    expect(created.isPersisted).toBe(true);
    expect([created.email, created.plan, created.credits]).toEqual(['a@x', 'pro', 0]);
    const again = await Account.firstOrCreate({ email: 'a@x' }, { plan: 'other' });
    expect(again.id).toBe(created.id);
    expect(again.plan).toBe('pro');
    expect(await Account.count()).toBe(1);
    await expect(Account.firstOrCreate({} as never)).rejects.toBeInstanceOf(QueryBuilderError);
  });

  it('updateOrCreate updates the match or creates one', async () => {
    const created = await Account.updateOrCreate({ email: 'a@x' }, { plan: 'free' });
    const updated = await Account.updateOrCreate({ email: 'a@x' }, { plan: 'pro' });
    expect(updated.id).toBe(created.id);
    expect((await Account.findOrFail(created.id)).plan).toBe('pro');
    expect(await Account.count()).toBe(1);
  });

  it('two clients racing firstOrCreate on one unique key both end with the same single row', async () => {
    barrier = new Barrier(2);
    const [first, second] = await Promise.all([Account.firstOrCreate({ email: 'race@x' }, { plan: 'one' }), Account.firstOrCreate({ email: 'race@x' }, { plan: 'two' })]);
    expect(first.id).toBe(second.id);
    expect(first.plan).toBe(second.plan);
    expect(await Account.where('email', 'race@x').count()).toBe(1);
  });

  it('two clients racing updateOrCreate on one unique key end with one row holding one of the two updates', async () => {
    barrier = new Barrier(2);
    const [first, second] = await Promise.all([Account.updateOrCreate({ email: 'race@x' }, { plan: 'one' }), Account.updateOrCreate({ email: 'race@x' }, { plan: 'two' })]);
    expect(first.id).toBe(second.id);
    const rows = await Account.where('email', 'race@x').all();
    expect(rows).toHaveLength(1);
    expect(['one', 'two']).toContain(rows[0]!.plan);
  });

  it('firstOrCreate racing inside a transaction: the loser\'s transaction survives and commits', async () => {
    // SQLite runs one transaction at a time: the second cannot look the key up before the first commits.
    barrier = dialect.driver === 'sqlite' ? undefined : new Barrier(2);
    // InnoDB may also break this race with a deadlock (the loser's failed insert leaves a shared lock on the
    // key's gap, which the winner's next insert waits for): that transaction then runs again, as retry asks.
    const results = await Promise.all(
      ['one', 'two'].map((plan) =>
        Account.transaction(
          async () => {
            const account = await Account.firstOrCreate({ email: 'race@x' }, { plan });
            await Account.create({ email: `after-${plan}` });
            return account;
          },
          { retry: { attempts: 3, baseMs: 5 } },
        ),
      ),
    );
    expect(results[0]!.id).toBe(results[1]!.id);
    expect(await Account.count()).toBe(3);
  });

  it('increment and decrement change a column atomically; the instance holds the stored value', async () => {
    const account = await Account.create({ email: 'a@x', points: 10n });
    const other = await Account.findOrFail(account.id);
    await Promise.all(Array.from({ length: 20 }, () => other.increment('credits')));
    expect(other.credits).toBeGreaterThanOrEqual(1);
    await account.increment('credits', 5);
    // The instance holds what the row holds: every other client's increments included.
    expect(account.credits).toBe(25);
    await account.decrement('credits', 30);
    expect(account.credits).toBe(-5);
    await account.increment('points', 9007199254740993n);
    expect(account.points).toBe(9007199254741003n);
    expect((await Account.findOrFail(account.id)).credits).toBe(-5);
    expect(account.isDirty()).toBe(false);
    // A step given as an integer string is converted first, then subtracted (never added).
    await account.decrement('credits', '2' as never);
    expect(account.credits).toBe(-7);
    expect(await Account.where('id', account.id).decrement('credits', '3' as never)).toBe(1);
    expect((await Account.findOrFail(account.id)).credits).toBe(-10);
  });

  it('a query increments and decrements every matching row in one statement; concurrent increments all count', async () => {
    const rows = await Promise.all(['a', 'b', 'c'].map((email) => Account.create({ email, plan: email === 'c' ? 'free' : 'pro' })));
    expect(await Account.where('plan', 'pro').increment('credits', 5)).toBe(2);
    await Promise.all(Array.from({ length: 10 }, () => Account.where('plan', 'pro').increment('credits')));
    expect(await Account.where('plan', 'free').decrement('credits', 2)).toBe(1);
    expect((await Account.query().orderBy('email').all()).map((r) => r.credits)).toEqual([15, 15, -2]);
    await Account.where('id', rows[0]!.id).update({ points: 0n });
    await Account.where('id', rows[0]!.id).increment('points', 9007199254740993n);
    await Account.where('id', rows[0]!.id).increment('points', 10);
    expect((await Account.findOrFail(rows[0]!.id)).points).toBe(9007199254741003n);
    await expect(Account.where('plan', 'pro').increment('credits', 0.5)).rejects.toBeInstanceOf(ValidationError);
    await expect(Account.where('plan', 'pro').increment('email' as never)).rejects.toBeInstanceOf(QueryBuilderError);
    await expect(Account.query().limit(1).increment('credits')).rejects.toBeInstanceOf(QueryBuilderError);
    expect((await Account.query().orderBy('email').all()).map((r) => r.credits)).toEqual([15, 15, -2]);
  });

  it('paginate gives one page and the figures to page through the rest', async () => {
    await Account.bulkInsert(Array.from({ length: 23 }, (_, i) => ({ email: `p${String(i).padStart(2, '0')}`, plan: i % 2 ? 'odd' : 'even' })));
    const second = await Account.query().orderBy('email').paginate(2, 10);
    expect(second.data.map((a) => a.email)).toEqual(Array.from({ length: 10 }, (_, i) => `p${10 + i}`));
    expect([second.total, second.page, second.perPage, second.lastPage]).toEqual([23, 2, 10, 3]);
    const last = await Account.where('plan', 'even').orderBy('email', 'desc').paginate(2, 10);
    expect(last.data.map((a) => a.email)).toEqual(['p02', 'p00']);
    expect([last.total, last.lastPage]).toEqual([12, 2]);
    const beyond = await Account.paginate(9, 10);
    expect([beyond.data, beyond.total, beyond.lastPage]).toEqual([[], 23, 3]);
    expect((await Account.where('plan', 'none').paginate(1, 10)).lastPage).toBe(1);
    for (const [page, perPage] of [[0, 10], [1, 0], [1.5, 10], [-1, 10]] as const) await expect(Account.paginate(page, perPage)).rejects.toBeInstanceOf(QueryBuilderError);
    await expect(Account.query().limit(5).paginate(1, 10)).rejects.toBeInstanceOf(QueryBuilderError);
  });

  it('increment refuses bad input and changes nothing', async () => {
    const account = await Account.create({ email: 'a@x' });
    await expect(account.increment('credits', 1.5)).rejects.toBeInstanceOf(ValidationError);
    await expect(account.increment('email' as never)).rejects.toBeInstanceOf(QueryBuilderError);
    await expect(new Account().increment('credits')).rejects.toBeInstanceOf(QueryBuilderError);
    await Account.where('id', account.id).delete();
    await expect(account.increment('credits')).rejects.toBeInstanceOf(RecordNotFoundError);
  });

  it('increment emits updated with the change', async () => {
    const account = await Account.create({ email: 'a@x' });
    const seen: unknown[] = [];
    const listener = (event: { changes: unknown }) => seen.push(event.changes);
    Account.events.on('updated', listener);
    try {
      await account.increment('credits', 2);
    } finally {
      Account.events.off('updated', listener);
    }
    expect(seen).toEqual([{ credits: { old: 0, new: 2 } }]);
  });
});
