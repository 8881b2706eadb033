import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ConnectionManager, ConnectionNotFoundError } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { setUpPrimaryAndSecondary, truncateUsers, User } from './support/schema.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeEachDialect('connection switching', (dialect) => {
  let teardown: () => Promise<void>;
  beforeAll(async () => {
    teardown = await setUpPrimaryAndSecondary(dialect);
  });
  afterAll(() => teardown());
  beforeEach(() => truncateUsers());

  const emailsOn = async (name: string) => (await ConnectionManager.get(name).knex('users').orderBy('email').pluck('email')) as string[];

  it('using() runs every static method on the named connection', async () => {
    const Secondary = User.using('secondary');
    const created = await Secondary.create({ email: 'two@x.io', score: 1 });
    await Secondary.bulkInsert([{ email: 'bulk@x.io' }]);
    await Secondary.bulkInsertOrUpdate([{ email: 'bulk@x.io', score: 7 }], { conflictKeys: ['email'] });
    expect(await emailsOn('secondary')).toEqual(['bulk@x.io', 'two@x.io']);
    expect(await emailsOn('primary')).toEqual([]);
    expect((await Secondary.find(created.id))!.email).toBe('two@x.io');
    expect(await User.find(created.id)).toBeNull();
    expect(await Secondary.where({ email: 'bulk@x.io' }).pluck('score')).toEqual([7]);
    expect(await Secondary.count()).toBe(2);
    const pages: number[] = [];
    for await (const page of Secondary.batch(1)) pages.push(page.length);
    expect(pages).toEqual([1, 1]);
    expect((await Secondary.rawQuery('select * from users where email = ?', ['two@x.io'])).length).toBe(1);
    await Secondary.transaction(async () => {
      await Secondary.create({ email: 'in-trx@x.io' });
    });
    expect(await emailsOn('secondary')).toContain('in-trx@x.io');
    expect(() => User.using('nowhere')).toThrow(ConnectionNotFoundError);
  });

  it('instances remember the connection they came from for save/destroy/reload', async () => {
    const created = await User.using('secondary').create({ email: 'mem@x.io', score: 1 });
    expect(created.connectionName).toBe('secondary');
    created.score = 2;
    await created.save();
    const loaded = (await User.using('secondary').find(created.id))!;
    expect(loaded.score).toBe(2);
    await loaded.reload();
    await loaded.destroy();
    expect(await emailsOn('secondary')).toEqual([]);
    expect(await emailsOn('primary')).toEqual([]);
  });

  it('a record can be copied to another connection', async () => {
    const original = await User.create({ email: 'copy@x.io', meta: { a: 1 }, active: true });
    const { id: _id, ...attributes } = original.toJSON();
    const copy = await User.using('secondary').create({ ...attributes, meta: original.meta, createdAt: original.createdAt, updatedAt: original.updatedAt } as never);
    expect(copy.connectionName).toBe('secondary');
    const back = (await User.using('secondary').find(copy.id))!;
    expect(back.meta).toEqual({ a: 1 });
    expect(back.active).toBe(true);
  });

  it('usingConnection() switches for the async scope only, through awaits and callbacks', async () => {
    const result = await User.usingConnection('secondary', async () => {
      await pause(1);
      await User.create({ email: 'scoped@x.io' });
      await new Promise<void>((resolve) => setTimeout(() => void User.create({ email: 'timer@x.io' }).then(() => resolve()), 1));
      return User.count();
    });
    expect(result).toBe(2);
    expect(await emailsOn('secondary')).toEqual(['scoped@x.io', 'timer@x.io']);
    // After the scope, User is back on its own connection.
    await User.create({ email: 'after@x.io' });
    expect(await emailsOn('primary')).toEqual(['after@x.io']);
  });

  it('concurrent usingConnection scopes never see each other', async () => {
    const run = (name: string, prefix: string) =>
      User.usingConnection(name, async () => {
        for (let i = 0; i < 10; i++) {
          await pause(Math.random() * 3);
          await User.create({ email: `${prefix}${i}@x.io` });
        }
        return User.where('email', 'like', `${prefix}%`).count();
      });
    const counts = await Promise.all([run('primary', 'p'), run('secondary', 's'), run('primary', 'q'), run('secondary', 't')]);
    expect(counts).toEqual([10, 10, 10, 10]);
    const primary = await emailsOn('primary');
    const secondary = await emailsOn('secondary');
    expect(primary.every((e) => e.startsWith('p') || e.startsWith('q'))).toBe(true);
    expect(secondary.every((e) => e.startsWith('s') || e.startsWith('t'))).toBe(true);
    expect(primary).toHaveLength(20);
    expect(secondary).toHaveLength(20);
  });

  it('withConnections() remaps a connection name for every model in the scope', async () => {
    await ConnectionManager.withConnections({ primary: 'secondary' }, async () => {
      await User.create({ email: 'remapped@x.io' });
    });
    expect(await emailsOn('secondary')).toEqual(['remapped@x.io']);
    expect(() => ConnectionManager.withConnections({ primary: 'nowhere' }, () => undefined)).toThrow(ConnectionNotFoundError);
  });

  it('precedence: explicit using() > innermost scope > the model connection', async () => {
    await ConnectionManager.withConnections({ primary: 'secondary' }, async () => {
      // using() beats the scope.
      await User.using('primary').create({ email: 'explicit@x.io' });
      // The innermost scope wins over an outer one.
      await User.usingConnection('primary', async () => {
        await User.create({ email: 'inner-model@x.io' });
        await ConnectionManager.withConnections({ primary: 'secondary' }, () => User.create({ email: 'innermost-remap@x.io' }));
      });
      await User.create({ email: 'outer-remap@x.io' });
    });
    await User.create({ email: 'own@x.io' });
    expect(await emailsOn('primary')).toEqual(['explicit@x.io', 'inner-model@x.io', 'own@x.io']);
    expect(await emailsOn('secondary')).toEqual(['innermost-remap@x.io', 'outer-remap@x.io']);
  });

  it('a transaction opened inside a usingConnection() scope keeps the switch', async () => {
    await User.usingConnection('secondary', () =>
      ConnectionManager.transaction('secondary', async () => {
        await User.create({ email: 'in-trx@x.io' });
      }),
    );
    expect(await emailsOn('secondary')).toEqual(['in-trx@x.io']);
    expect(await emailsOn('primary')).toEqual([]);
  });

  it('a usingConnection() scope inside a transaction still joins it: the rollback undoes its writes', async () => {
    const failure = new Error('roll back');
    const error = await ConnectionManager.transaction('primary', async () => {
      await User.usingConnection('primary', () => User.create({ email: 'scoped-in-trx@x.io' }));
      await ConnectionManager.withConnections({ secondary: 'primary' }, () => User.create({ email: 'remapped-in-trx@x.io' }));
      throw failure;
    }).catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(await emailsOn('primary')).toEqual([]);
  });

  it('aliases work wherever a name is accepted', async () => {
    if (!ConnectionManager.has('replica')) ConnectionManager.alias('replica', 'secondary');
    await User.using('replica').create({ email: 'alias@x.io' });
    await User.usingConnection('replica', () => User.create({ email: 'alias-scope@x.io' }));
    await ConnectionManager.transaction('replica', () => User.using('secondary').create({ email: 'alias-trx@x.io' }));
    expect(await emailsOn('secondary')).toEqual(['alias-scope@x.io', 'alias-trx@x.io', 'alias@x.io']);
    expect((await User.using('replica').first())!.connectionName).toBe('secondary');
  });
});
