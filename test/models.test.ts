import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionManager, QueryBuilderError, RecordNotFoundError, UnknownColumnError } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { setUpPrimaryAndSecondary, truncateUsers, User } from './support/schema.js';

describeEachDialect('models', (dialect) => {
  let teardown: () => Promise<void>;
  beforeAll(async () => {
    teardown = await setUpPrimaryAndSecondary(dialect);
  });
  afterAll(() => teardown());
  beforeEach(() => truncateUsers());

  describe('create, find, save, destroy', () => {
    // Tests that check timestamps freeze the clock (Date only) and move it by hand.
    afterEach(() => void vi.useRealTimers());

    it('creates a record with a generated id and timestamps, and finds it again', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const now = Date.now();
      const user = await User.create({ email: 'ada@example.com', score: 3 });
      expect(user.id).toBeTypeOf('number');
      expect(user.createdAt).toBeInstanceOf(Date);
      expect(user.createdAt.getTime()).toBe(now);
      expect(user.updatedAt.getTime()).toBe(now);
      expect(user.isPersisted).toBe(true);
      expect(user.isDirty()).toBe(false);

      const found = await User.find(user.id);
      expect(found).toBeInstanceOf(User);
      expect(found!.email).toBe('ada@example.com');
      expect(found!.score).toBe(3);
      expect(found!.createdAt.getTime()).toBe(user.createdAt.getTime());
      expect(await User.find(999_999)).toBeNull();
    });

    it('findOrFail throws RecordNotFoundError naming the model and key', async () => {
      const error = await User.findOrFail(424242).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RecordNotFoundError);
      expect((error as RecordNotFoundError).model).toBe('User');
      expect((error as RecordNotFoundError).key).toBe(424242);
    });

    it('save() on a loaded record updates only the changed columns and bumps updatedAt', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const created = Date.now();
      const user = await User.create({ email: 'bob@example.com', score: 1, status: 'active' });
      const loaded = (await User.find(user.id))!;
      expect(loaded.updatedAt.getTime()).toBe(created);
      // Someone else changes status behind our back; our save must not overwrite it.
      await ConnectionManager.get('primary').knex('users').where({ id: user.id }).update({ status: 'banned' });
      const saved = created + 60_000;
      vi.setSystemTime(saved);
      loaded.score = 2;
      expect(loaded.isDirty()).toBe(true);
      expect(loaded.isDirty('score')).toBe(true);
      expect(loaded.isDirty('email')).toBe(false);
      expect(loaded.getDirty()).toEqual({ score: 2 });
      await loaded.save();
      expect(loaded.isDirty()).toBe(false);
      const fresh = (await User.find(user.id))!;
      expect(fresh.score).toBe(2);
      expect(fresh.status).toBe('banned');
      expect(fresh.updatedAt.getTime()).toBe(saved);
      expect(fresh.createdAt.getTime()).toBe(created);
    });

    it('save() without changes sends nothing and keeps updatedAt', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const user = await User.create({ email: 'c@example.com' });
      const stamp = user.updatedAt.getTime();
      // Time has passed: a save that wrote anything would stamp a new updatedAt.
      vi.setSystemTime(stamp + 60_000);
      const statements = vi.spyOn(ConnectionManager.get('primary'), 'run');
      try {
        await user.save();
        expect(statements).not.toHaveBeenCalled();
      } finally {
        statements.mockRestore();
      }
      expect(user.updatedAt.getTime()).toBe(stamp);
      expect((await User.findOrFail(user.id)).updatedAt.getTime()).toBe(stamp);
    });

    it('new instances save with save(), then update', async () => {
      const user = new User();
      user.email = 'new@example.com';
      expect(user.isPersisted).toBe(false);
      await user.save();
      expect(user.id).toBeGreaterThan(0);
      user.status = 'vip';
      await user.save();
      expect((await User.findOrFail(user.id)).status).toBe('vip');
    });

    it('destroy() deletes, and a destroyed record cannot be saved', async () => {
      const user = await User.create({ email: 'd@example.com' });
      await user.destroy();
      expect(await User.find(user.id)).toBeNull();
      await expect(user.save()).rejects.toThrow(/destroyed/);
    });

    it('save() of a record whose row is gone throws RecordNotFoundError and writes nothing', async () => {
      const user = await User.create({ email: 'gone@example.com', score: 1 });
      await ConnectionManager.get('primary').knex('users').where({ id: user.id }).delete();
      user.score = 2;
      const error = await user.save().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RecordNotFoundError);
      expect(error).toMatchObject({ model: 'User', key: user.id });
      expect(await User.count()).toBe(0);
    });

    it('a changed primary key: save() moves the row it was loaded as, destroy() deletes that row', async () => {
      const moved = await User.create({ email: 'moved@example.com' });
      const oldId = moved.id;
      moved.id = oldId + 1000;
      await moved.save();
      expect(await User.find(oldId)).toBeNull();
      expect((await User.find(oldId + 1000))!.email).toBe('moved@example.com');

      const other = await User.create({ email: 'other@example.com' });
      const otherId = other.id;
      other.id = otherId + 1000;
      await other.destroy();
      expect(await User.find(otherId)).toBeNull();
      expect((await User.find(oldId + 1000))!.email).toBe('moved@example.com');
    });

    it('destroy() of a record never saved fails with E_NO_PRIMARY_KEY and deletes nothing', async () => {
      await User.create({ email: 'stays@example.com' });
      await expect(new User().destroy()).rejects.toMatchObject({ code: 'E_NO_PRIMARY_KEY' });
      expect(await User.count()).toBe(1);
    });

    it('create() keeps timestamps it is given', async () => {
      const at = new Date('2020-05-06T07:08:09.010Z');
      const user = await User.create({ email: 'dated@example.com', createdAt: at, updatedAt: at });
      expect(user.createdAt.getTime()).toBe(at.getTime());
      expect((await User.find(user.id))!.createdAt.getTime()).toBe(at.getTime());
    });

    it('reload() re-reads the row and drops local changes', async () => {
      const user = await User.create({ email: 'e@example.com', score: 1 });
      await ConnectionManager.get('primary').knex('users').where({ id: user.id }).update({ score: 9 });
      user.email = 'changed@example.com';
      await user.reload();
      expect(user.score).toBe(9);
      expect(user.email).toBe('e@example.com');
      expect(user.isDirty()).toBe(false);
      await user.destroy();
      await expect(User.create({ email: 'x@example.com' }).then(async (u) => {
        await ConnectionManager.get('primary').knex('users').where({ id: u.id }).delete();
        return u.reload();
      })).rejects.toBeInstanceOf(RecordNotFoundError);
    });

    it('a rolled-back update leaves the record dirty, so the next save writes it', async () => {
      const user = await User.create({ email: 'rb@example.com', score: 1 });
      await expect(
        User.transaction(async () => {
          user.score = 2;
          await user.save();
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      expect(user.isDirty('score')).toBe(true);
      await user.save();
      expect((await User.findOrFail(user.id)).score).toBe(2);
    });

    it('a partial select does not let field defaults overwrite unloaded columns', async () => {
      const created = await User.create({ email: 'partial@example.com', status: 'vip', score: 7 });
      const [partial] = await User.select('id', 'email').where({ id: created.id });
      // The result type has only the selected properties; at run time the others are unset.
      expect((partial as User).status).toBeUndefined();
      partial!.email = 'partial2@example.com';
      await partial!.save();
      const fresh = await User.findOrFail(created.id);
      expect(fresh).toMatchObject({ email: 'partial2@example.com', status: 'vip', score: 7 });
    });

    it('rawQuery binds Dates, booleans and bigints like the model API and keeps 64-bit precision', async () => {
      const big = 9_007_199_254_740_993n;
      await User.create({ email: 'raw@example.com', active: true, big, seenAt: new Date('2026-01-02T03:04:05.678Z') });
      const [row] = await User.rawQuery('select * from users where active = ? and seen_at = ? and big = ?', [true, new Date('2026-01-02T03:04:05.678Z'), big]);
      expect(row!.big).toBe(big);
    });

    it('toJSON() gives the column properties', async () => {
      const user = await User.create({ email: 'j@example.com', big: 12n });
      const json = JSON.parse(JSON.stringify(user));
      expect(json.email).toBe('j@example.com');
      expect(json.big).toBe('12');
      expect(json.createdAt).toBe(user.createdAt.toISOString());
    });

    it('create() refuses unknown properties and writes nothing', async () => {
      await expect(User.create({ email: 'u@example.com', nope: 1 } as never)).rejects.toBeInstanceOf(UnknownColumnError);
      expect(await User.count()).toBe(0);
    });
  });

  describe('typed round trips', () => {
    it('returns the same JS types on every dialect', async () => {
      const birthday = new Date('1990-05-17T00:00:00.000Z');
      const seenAt = new Date('2026-11-22T10:11:12.345Z');
      const big = 9_007_199_254_740_993n; // 2^53 + 1: not representable as a number
      const created = await User.create({ email: 't@example.com', score: 42, active: true, big, ratio: 0.25, birthday, seenAt, meta: { tags: ['a', 'b'], nested: { n: 1 } } });
      const user = (await User.find(created.id))!;
      expect(user.score).toBe(42);
      expect(user.active).toBe(true);
      expect(user.big).toBe(big);
      expect(user.ratio).toBe(0.25);
      expect(user.birthday).toEqual(birthday);
      expect(user.seenAt).toEqual(seenAt);
      expect(user.meta).toEqual({ tags: ['a', 'b'], nested: { n: 1 } });
      expect(user.createdAt).toBeInstanceOf(Date);

      const falsy = await User.create({ email: 'f@example.com', active: false, meta: [1, 2] });
      const again = (await User.find(falsy.id))!;
      expect(again.active).toBe(false);
      expect(again.meta).toEqual([1, 2]);
      expect(again.score).toBeNull();
      expect(again.big).toBeNull();
      expect(again.seenAt).toBeNull();
    });

    it('tracks in-place changes to json and date values', async () => {
      const created = await User.create({ email: 'm@example.com', meta: { n: 1 }, seenAt: new Date('2026-01-01T00:00:00Z') });
      const user = (await User.find(created.id))!;
      expect(user.isDirty()).toBe(false);
      (user.meta as Record<string, unknown>).n = 2;
      expect(user.isDirty('meta')).toBe(true);
      await user.save();
      user.seenAt!.setUTCFullYear(2030);
      expect(user.isDirty('seenAt')).toBe(true);
      await user.save();
      const fresh = (await User.find(created.id))!;
      expect(fresh.meta).toEqual({ n: 2 });
      expect(fresh.seenAt!.getUTCFullYear()).toBe(2030);
    });

    it('records read by one query each keep their own original values', async () => {
      // 70 rows: more than two of the groups whose snapshots are kept together, the last one short.
      await User.bulkInsert(Array.from({ length: 70 }, (_, i) => ({ email: `r${i}@x.io`, score: i, meta: { i }, seenAt: new Date(Date.UTC(2026, 0, 1 + i)) })));
      const users = await User.query().orderBy('id').all();
      expect(users).toHaveLength(70);
      for (const user of users) expect(user.isDirty()).toBe(false);
      const [first, lastOfGroup, firstOfNext, last] = [users[0]!, users[31]!, users[32]!, users[69]!];
      first.score = 100;
      lastOfGroup.email = 'moved@x.io';
      (firstOfNext.meta as Record<string, unknown>).i = -1;
      last.seenAt!.setUTCFullYear(2031);
      expect(users.filter((u) => u.isDirty()).map((u) => u.email)).toEqual(['r0@x.io', 'moved@x.io', 'r32@x.io', 'r69@x.io']);
      expect(first.getDirty()).toEqual({ score: 100 });
      expect(lastOfGroup.getDirty()).toEqual({ email: 'moved@x.io' });
      expect(Object.keys(firstOfNext.getDirty())).toEqual(['meta']);
      expect(Object.keys(last.getDirty())).toEqual(['seenAt']);
      // Setting a value back to what was read is no change.
      users[33]!.score = 33;
      expect(users[33]!.isDirty()).toBe(false);
      for (const user of users) await user.save();
      const fresh = await User.query().orderBy('id').all();
      expect(fresh.map((u) => [u.email, u.score, (u.meta as { i: number }).i, u.seenAt!.getUTCFullYear()])).toEqual(
        users.map((u, i) => [i === 31 ? 'moved@x.io' : `r${i}@x.io`, i === 0 ? 100 : i, i === 32 ? -1 : i, i === 69 ? 2031 : 2026]),
      );
      expect(fresh.map((u) => u.updatedAt.getTime())).toEqual(users.map((u) => u.updatedAt.getTime()));
    });

    it('filters by typed values (booleans, dates, bigints)', async () => {
      await User.create({ email: 'a@x.io', active: true, big: 5n, seenAt: new Date('2026-01-01T00:00:00Z') });
      await User.create({ email: 'b@x.io', active: false, big: 6n, seenAt: new Date('2026-06-01T00:00:00Z') });
      expect(await User.where({ active: true }).pluck('email')).toEqual(['a@x.io']);
      expect(await User.where('big', '>', 5n).pluck('email')).toEqual(['b@x.io']);
      expect(await User.where('seenAt', '>', new Date('2026-03-01T00:00:00Z')).pluck('email')).toEqual(['b@x.io']);
    });
  });

  describe('query API', () => {
    beforeEach(async () => {
      await User.bulkInsert([
        { email: 'a@q.io', status: 'active', score: 5 },
        { email: 'b@q.io', status: 'active', score: 15 },
        { email: 'c@q.io', status: 'inactive', score: 25 },
        { email: 'd@q.io', status: 'active', score: null },
      ]);
    });

    it('where / orderBy / limit / offset / all', async () => {
      const users = await User.where({ status: 'active' }).orderBy('email', 'desc').all();
      expect(users.map((u) => u.email)).toEqual(['d@q.io', 'b@q.io', 'a@q.io']);
      expect(users[0]).toBeInstanceOf(User);
      const page = await User.query().orderBy('email').limit(2).offset(1);
      expect(page.map((u) => u.email)).toEqual(['b@q.io', 'c@q.io']);
      expect((await User.where('score', '>', 10).orderBy('score')).map((u) => u.score)).toEqual([15, 25]);
      expect(await User.where('score', '>=', 5).where('score', '<', 25).count()).toBe(2);
      expect((await User.where({ status: 'inactive' }).orWhere('score', 5).orderBy('email').pluck('email'))).toEqual(['a@q.io', 'c@q.io']);
      expect(await User.where('email', 'like', '%@q.io').count()).toBe(4);
      expect(await User.query().whereNot('status', 'active').count()).toBe(1);
    });

    it('whereIn / whereNotIn / whereNull / whereNotNull', async () => {
      expect(await User.whereIn('email', ['a@q.io', 'c@q.io']).orderBy('email').pluck('email')).toEqual(['a@q.io', 'c@q.io']);
      expect(await User.whereIn('email', []).count()).toBe(0);
      expect(await User.query().whereNotIn('email', ['a@q.io']).count()).toBe(3);
      expect(await User.whereNull('score').pluck('email')).toEqual(['d@q.io']);
      expect(await User.where({ score: null }).count()).toBe(1);
      expect(await User.query().whereNotNull('score').count()).toBe(3);
    });

    it('first / count / exists / pluck / select', async () => {
      expect((await User.orderBy('score', 'desc').where('score', '<', 20).first())!.email).toBe('b@q.io');
      expect(await User.where({ status: 'nobody' }).first()).toBeNull();
      expect(await User.count()).toBe(4);
      expect(await User.where({ status: 'active' }).exists()).toBe(true);
      expect(await User.where({ status: 'nobody' }).exists()).toBe(false);
      expect(await User.orderBy('score').whereNotNull('score').pluck('score')).toEqual([5, 15, 25]);
      const [partial] = await User.select('email').where({ email: 'a@q.io' });
      expect(partial!.email).toBe('a@q.io');
      expect((partial as User).score).toBeUndefined();
    });

    it('query().update() and .delete() affect every matching row and report the count', async () => {
      expect(await User.where({ status: 'active' }).update({ score: 0 })).toBe(3);
      expect(await User.where({ score: 0 }).count()).toBe(3);
      expect(await User.where('score', '>', 20).delete()).toBe(1);
      expect(await User.count()).toBe(3);
      await expect(User.where({ status: 'active' }).limit(1).update({ score: 1 })).rejects.toBeInstanceOf(QueryBuilderError);
    });

    it('queries are immutable', async () => {
      const active = User.where({ status: 'active' });
      const high = active.where('score', '>', 10);
      expect(await active.count()).toBe(3);
      expect(await high.count()).toBe(1);
    });

    it('rawQuery() hydrates models, typed, with extra fields copied', async () => {
      const rows = await User.rawQuery('select id, email, score, score * 2 as doubled from users where status = ? order by email', ['active']);
      expect(rows.map((u) => u.email)).toEqual(['a@q.io', 'b@q.io', 'd@q.io']);
      expect(rows[0]).toBeInstanceOf(User);
      expect(Number((rows[0] as unknown as { doubled: number }).doubled)).toBe(10);
    });
  });

  describe('keyset paging', () => {
    it('whereAfter pages by (score, id) without skipping or repeating equal scores', async () => {
      await User.bulkInsert(Array.from({ length: 57 }, (_, i) => ({ email: `k${i}@x.io`, score: Math.floor(i / 10) })));
      const seen: number[] = [];
      let cursor: [number, number] | undefined;
      for (;;) {
        let query = User.query().orderBy('score').orderBy('id').limit(7);
        if (cursor) query = query.whereAfter(['score', 'id'], cursor);
        const page = await query;
        if (page.length === 0) break;
        seen.push(...page.map((u) => u.id));
        const last = page[page.length - 1]!;
        cursor = [last.score!, last.id];
      }
      expect(seen).toHaveLength(57);
      expect(new Set(seen).size).toBe(57);
      expect(() => User.query().whereAfter(['score'], [])).toThrow(QueryBuilderError);
    });
  });

  describe('bulk', () => {
    it('bulkInsert writes 100,000 rows in chunks', async () => {
      const rows = Array.from({ length: 100_000 }, (_, i) => ({ email: `bulk${i}@x.io`, score: i, active: i % 2 === 0 }));
      expect(await User.bulkInsert(rows)).toBe(100_000);
      expect(await User.count()).toBe(100_000);
      expect(await User.where({ active: true }).count()).toBe(50_000);
      const last = await User.where({ email: 'bulk99999@x.io' }).first();
      expect(last!.score).toBe(99_999);
      expect(last!.createdAt).toBeInstanceOf(Date);
    });

    it('bulkInsert is all or nothing', async () => {
      const rows = Array.from({ length: 3000 }, (_, i) => ({ email: `dup${i % 2999}@x.io` }));
      await expect(User.bulkInsert(rows)).rejects.toThrow();
      expect(await User.count()).toBe(0);
    });

    it('bulkInsertOrUpdate upserts by conflict keys', async () => {
      await User.bulkInsert(Array.from({ length: 500 }, (_, i) => ({ email: `u${i}@x.io`, score: 1, status: 'old' })));
      const rows = Array.from({ length: 1000 }, (_, i) => ({ email: `u${i}@x.io`, score: 2 }));
      expect(await User.bulkInsertOrUpdate(rows, { conflictKeys: ['email'] })).toBe(1000);
      expect(await User.count()).toBe(1000);
      expect(await User.where({ score: 2 }).count()).toBe(1000);
      // Columns not in the upsert rows keep their values.
      expect(await User.where({ status: 'old' }).count()).toBe(500);
      await expect(User.bulkInsertOrUpdate(rows, { conflictKeys: ['nope' as 'email'] })).rejects.toBeInstanceOf(UnknownColumnError);
    });

    it('bulkInsertOrUpdate handles 100,000 rows', async () => {
      const rows = Array.from({ length: 100_000 }, (_, i) => ({ email: `big${i}@x.io`, score: i }));
      await User.bulkInsertOrUpdate(rows, { conflictKeys: ['email'] });
      await User.bulkInsertOrUpdate(rows.map((r) => ({ ...r, score: -1 })), { conflictKeys: ['email'] });
      expect(await User.where({ score: -1 }).count()).toBe(100_000);
    });
  });

  describe('batch', () => {
    it('pages by primary key and visits each matching row once', async () => {
      await User.bulkInsert(Array.from({ length: 2_345 }, (_, i) => ({ email: `b${i}@x.io`, active: i % 3 === 0 })));
      const seen = new Set<number>();
      let batches = 0;
      for await (const users of User.where({ active: true }).batch(100)) {
        batches += 1;
        expect(users.length).toBeLessThanOrEqual(100);
        for (const user of users) {
          expect(user).toBeInstanceOf(User);
          expect(seen.has(user.id)).toBe(false);
          seen.add(user.id);
        }
      }
      expect(seen.size).toBe(782);
      expect(batches).toBe(8);
      await expect(User.orderBy('email').batch(10).next()).rejects.toBeInstanceOf(QueryBuilderError);
    });

    it('does not visit rows deleted ahead of the cursor', async () => {
      await User.bulkInsert(Array.from({ length: 50 }, (_, i) => ({ email: `c${i}@x.io` })));
      let count = 0;
      for await (const users of User.batch(10)) {
        count += users.length;
        if (count === 10) await User.where('email', 'like', 'c4%').delete();
      }
      expect(count).toBe(40);
    });
  });
});
