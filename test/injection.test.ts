import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ConnectionManager, QueryBuilderError, QueryError, UnknownColumnError, ValidationError } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { setUpPrimaryAndSecondary, truncateUsers, User } from './support/schema.js';

/** Classic payloads, for every quoting style of the three dialects. */
const PAYLOADS = [
  "'; DROP TABLE users; --",
  "' OR '1'='1",
  '" OR ""="',
  "Robert'); DROP TABLE users;--",
  '`; DROP TABLE users; --',
  "\\'; DROP TABLE users; --",
  "1; DELETE FROM users",
  "' UNION SELECT secret, secret, secret FROM secrets --",
  "%' OR 1=1 --",
  '$1',
  '?',
  '??',
  ':name',
  '\\',
  "\u0000'; DROP TABLE users; --",
  "ünïcødé ' \" ` 🙂",
  "') OR ('a'='a",
  '*/ DROP TABLE users /*',
];

/** Whether a LIKE pattern ends in a backslash that escapes nothing (an odd run of them). */
function endsInLoneBackslash(pattern: string): boolean {
  return /(?:^|[^\\])(?:\\\\)*\\$/.test(pattern);
}

describeEachDialect('SQL injection', (dialect) => {
  let teardown: () => Promise<void>;
  beforeAll(async () => {
    teardown = await setUpPrimaryAndSecondary(dialect);
    const knex = ConnectionManager.get('primary').knex;
    await knex.schema.dropTableIfExists('secrets');
    await knex.schema.createTable('secrets', (t) => {
      t.string('secret');
    });
    await knex('secrets').insert({ secret: 'TOP-SECRET-VALUE' });
  });
  afterAll(() => teardown());
  beforeEach(() => truncateUsers());

  const assertIntact = async (expectedUsers: number) => {
    const knex = ConnectionManager.get('primary').knex;
    expect(await knex.schema.hasTable('users')).toBe(true);
    expect(await knex.schema.hasTable('secrets')).toBe(true);
    expect(Number((await knex('users').count({ n: '*' }))[0]!.n)).toBe(expectedUsers);
    expect(await knex('secrets').pluck('secret')).toEqual(['TOP-SECRET-VALUE']);
  };

  // PostgreSQL text cannot hold NUL bytes at all; that is a refusal, not an injection.
  const payloads = PAYLOADS.filter((p) => dialect.driver !== 'postgresql' || !p.includes('\u0000'));

  it('payloads used as values are stored and matched literally', async () => {
    for (const [i, payload] of payloads.entries()) {
      const user = await User.create({ email: `${i}@x.io`, status: payload.slice(0, 32), meta: { payload } });
      const found = await User.where({ status: payload.slice(0, 32) }).all();
      expect(found.map((u) => u.id)).toEqual([user.id]);
      expect(found[0]!.meta).toEqual({ payload });
      const pattern = payload.slice(0, 32);
      const like = User.where('status', 'like', pattern).count();
      if (dialect.driver === 'postgresql' && endsInLoneBackslash(pattern)) {
        // PostgreSQL refuses a LIKE pattern ending in its escape character: a typed error, not an injection.
        await expect(like).rejects.toBeInstanceOf(QueryError);
        await expect(like).rejects.toMatchObject({ code: 'E_QUERY', driverCode: '22025', connection: 'primary' });
      } else {
        expect(await like).toBeLessThanOrEqual(1);
      }
      expect(await User.whereIn('status', [payload.slice(0, 32), 'x']).count()).toBe(1);
      expect(await User.where({ email: payload }).count()).toBe(0);
      const raw = await User.rawQuery('select * from users where status = ?', [payload.slice(0, 32)]);
      expect(raw).toHaveLength(1);
      expect(await User.where({ id: user.id }).update({ email: `${payload}#${i}` })).toBe(1);
      expect((await User.findOrFail(user.id)).email).toBe(`${payload}#${i}`);
      await expect(User.find(payload)).rejects.toBeInstanceOf(ValidationError);
      expect(() => User.where('score', payload as never)).toThrow(ValidationError);
    }
    await User.bulkInsert(payloads.map((p, i) => ({ email: `bulk${i}${p}` })));
    await User.bulkInsertOrUpdate(payloads.map((p, i) => ({ email: `bulk${i}${p}`, status: p.slice(0, 32) })), { conflictKeys: ['email'] });
    await assertIntact(payloads.length * 2);
    expect(await User.where('email', 'like', 'bulk%').pluck('status')).toEqual(expect.arrayContaining(payloads.map((p) => p.slice(0, 32))));
  });

  it('payloads used as property names and operators are refused before any SQL', async () => {
    await User.create({ email: 'keep@x.io' });
    for (const payload of payloads) {
      const attempts: Array<() => unknown> = [
        () => User.where({ [payload]: 1 } as never),
        () => User.where(payload as never, 1 as never),
        () => User.where('email', payload as never, 'x'),
        () => User.orderBy(payload as never),
        () => User.orderBy('email', payload as never),
        () => User.select(payload as never),
        () => User.whereIn(payload as never, []),
        () => User.whereNull(payload as never),
        () => User.query().pluck(payload as never),
        () => User.query().update({ [payload]: 1 } as never),
        () => User.create({ [payload]: 1 } as never),
        () => User.bulkInsert([{ [payload]: 1 } as never]),
        () => User.bulkInsertOrUpdate([{ email: 'keep@x.io' }], { conflictKeys: [payload as never] }),
      ];
      for (const attempt of attempts) {
        const error = await (async () => {
          try {
            await attempt();
          } catch (e) {
            return e;
          }
        })();
        expect(error, payload).toBeInstanceOf(QueryBuilderError);
      }
    }
    expect(() => User.where({ email: 'x', nope: 1 } as never)).toThrow(UnknownColumnError);
    await assertIntact(1);
  });

  it('limit/offset/batch sizes must be integers', async () => {
    for (const bad of ['1; DROP TABLE users', -1, 1.5, NaN] as never[]) {
      expect(() => User.limit(bad)).toThrow(QueryBuilderError);
      expect(() => User.query().offset(bad)).toThrow(QueryBuilderError);
    }
    await assertIntact(0);
  });
});
