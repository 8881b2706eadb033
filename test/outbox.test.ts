import { afterAll, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { ConnectionManager, ensureOutboxTable, OutboxRelay, OUTBOX_TABLE, type OutboxEvent } from '../src/index.js';
import { describeEachDialect, SERVER_DIALECTS } from './support/dialects.js';
import { createMemberTables, Member, MemberCopy } from './support/sync-models.js';

describeEachDialect('outbox, relay and @SyncTo', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(2);
    drop = provisioned.drop;
    ConnectionManager.configure('src', provisioned.configs[0]!);
    ConnectionManager.configure('dst', provisioned.configs[1]!);
    await createMemberTables(ConnectionManager.get('src').knex, ConnectionManager.get('dst').knex);
    await ensureOutboxTable('src');
    await ensureOutboxTable('src');
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });
  beforeEach(async () => {
    Member.events.removeAllListeners();
    for (const [name, table] of [['src', 'members'], ['src', OUTBOX_TABLE], ['dst', 'member_copies']] as const) await ConnectionManager.get(name).knex(table).delete();
  });

  const outbox = () => ConnectionManager.get('src').knex(OUTBOX_TABLE).orderBy('id');
  const copies = () => ConnectionManager.get('dst').knex('member_copies').orderBy('member_id').select('member_id', 'email', 'visits');

  it('writes one outbox row per change in the same transaction; a rollback leaves neither', async () => {
    const member = await Member.create({ email: 'a@o.io', visits: 1 });
    member.visits = 2;
    await member.save();
    await member.destroy();
    const rows = await outbox();
    expect(rows.map((r) => r.event_type)).toEqual(['created', 'updated', 'destroyed']);
    expect(rows.every((r) => r.aggregate === 'Member' && r.aggregate_key === String(member.id) && r.status === 'pending')).toBe(true);
    expect(JSON.parse(rows[1].payload)).toMatchObject({ id: member.id, email: 'a@o.io', visits: 2 });

    await expect(
      Member.transaction(async () => {
        await Member.create({ email: 'b@o.io', visits: 1 });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await outbox()).toHaveLength(3);
    expect(await Member.where({ email: 'b@o.io' }).count()).toBe(0);
  });

  it('@SyncTo copies after commit, once per record per transaction, and deletes on destroy', async () => {
    const bulk: unknown[] = [];
    MemberCopy.events.removeAllListeners();
    MemberCopy.events.on('bulk', (e) => bulk.push(e));
    let member!: Member;
    await Member.transaction(async () => {
      member = await Member.create({ email: 'c@o.io', visits: 1 });
      member.visits = 5;
      await member.save();
      expect(await copies()).toEqual([]);
    });
    expect(await copies()).toEqual([{ member_id: member.id, email: 'c@o.io', visits: 5 }]);
    expect(bulk).toHaveLength(1);
    await member.destroy();
    expect(await copies()).toEqual([]);
    MemberCopy.events.removeAllListeners();
  });

  it('@SyncTo copies what was committed, not later in-memory or rolled-back values', async () => {
    let member!: Member;
    await Member.transaction(async () => {
      member = await Member.create({ email: 'snap@o.io', visits: 1 });
      member.visits = 5;
      await member.save();
      await Member.transaction(async () => {
        member.visits = 6;
        await member.save();
        throw new Error('undo savepoint');
      }).catch(() => undefined);
      member.visits = 99; // never saved
    });
    expect((await Member.findOrFail(member.id)).visits).toBe(5);
    expect(await copies()).toEqual([{ member_id: member.id, email: 'snap@o.io', visits: 5 }]);
  });

  it('a failed real-time copy emits syncFailed and keeps the source write', async () => {
    const failures: unknown[] = [];
    Member.events.on('syncFailed', (e) => failures.push(e.target));
    await ConnectionManager.get('dst').knex.schema.renameTable('member_copies', 'member_copies_away');
    try {
      const member = await Member.create({ email: 'd@o.io', visits: 1 });
      expect(await Member.find(member.id)).not.toBeNull();
    } finally {
      await ConnectionManager.get('dst').knex.schema.renameTable('member_copies_away', 'member_copies');
    }
    expect(failures).toEqual(['dst/MemberCopy']);
  });

  it('the relay delivers to the sync targets, in order per record, and marks events done', async () => {
    // Copies made by the real-time path are wiped: the relay alone must rebuild them.
    const members = [];
    for (let i = 0; i < 5; i++) members.push(await Member.create({ email: `r${i}@o.io`, visits: 0 }));
    for (let round = 1; round <= 3; round++) {
      for (const m of members) {
        m.visits = round;
        await m.save();
      }
    }
    await members[4]!.destroy();
    await ConnectionManager.get('dst').knex('member_copies').delete();
    const relay = new OutboxRelay({ connection: 'src', batchSize: 50, concurrency: 4 });
    const order: string[] = [];
    relay.events.on('delivered', (e: OutboxEvent) => order.push(`${e.key}:${e.id}`));
    let total = 0;
    for (;;) {
      const result = await relay.runOnce();
      total += result.delivered;
      expect(result.failed + result.dead).toBe(0);
      if (result.delivered === 0) break;
    }
    expect(total).toBe(5 + 15 + 1);
    expect(await copies()).toEqual(members.slice(0, 4).map((m) => ({ member_id: m.id, email: m.email, visits: 3 })));
    expect((await outbox()).every((r) => r.status === 'done')).toBe(true);
    const byKey = new Map<string, number[]>();
    for (const entry of order) {
      const [key, id] = entry.split(':');
      byKey.set(key!, [...(byKey.get(key!) ?? []), Number(id)]);
    }
    // Every event of every record was delivered, exactly once, in the order it was written.
    const written = new Map<string, number[]>();
    for (const row of await outbox()) written.set(row.aggregate_key, [...(written.get(row.aggregate_key) ?? []), Number(row.id)]);
    expect([...written.values()].map((ids) => ids.length)).toEqual([4, 4, 4, 4, 5]);
    expect(byKey).toEqual(written);
  });

  it('retries with backoff, marks dead after maxAttempts, a dead event blocks its key until retryDead', async () => {
    const a = await Member.create({ email: 'x@o.io', visits: 1 });
    a.visits = 2;
    await a.save();
    const b = await Member.create({ email: 'y@o.io', visits: 1 });
    let fail = true;
    const seen: string[] = [];
    const relay = new OutboxRelay({
      connection: 'src',
      maxAttempts: 2,
      backoff: { baseMs: 1, maxMs: 2 },
      handlers: {
        Member: (event) => {
          seen.push(`${event.key}:${event.type}:${event.attempts}`);
          if (fail && event.key === String(a.id)) throw new Error('target down');
        },
      },
    });
    // The relay's clock is frozen, and moved on by hand: the backoff is waited out by state, not by sleeping.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      expect(await relay.runOnce()).toEqual({ delivered: 1, failed: 1, dead: 0 });
      // Backing off: the failed event is not due yet (retry at now + 1..2 ms), and holds back a's 'updated' event.
      const [retry] = (await outbox()).filter((r) => r.status === 'pending' && Number(r.attempts) === 1 && r.aggregate_key === String(a.id));
      expect(Number(retry.next_attempt_at) - Date.now()).toBeOneOf([1, 2]);
      expect(await relay.runOnce()).toEqual({ delivered: 0, failed: 0, dead: 0 });
      vi.setSystemTime(Number(retry.next_attempt_at));
      expect(await relay.runOnce()).toEqual({ delivered: 0, failed: 0, dead: 1 });
      vi.setSystemTime(Date.now() + 60_000);
      // The dead 'created' event holds back a's 'updated' event.
      expect(await relay.runOnce()).toEqual({ delivered: 0, failed: 0, dead: 0 });
    } finally {
      vi.useRealTimers();
    }
    const dead = (await outbox()).filter((r) => r.status === 'dead');
    expect(dead).toHaveLength(1);
    expect(dead[0].last_error).toContain('target down');
    fail = false;
    expect(await relay.retryDead([dead[0].id])).toBe(1);
    expect(await relay.runOnce()).toEqual({ delivered: 1, failed: 0, dead: 0 });
    expect(await relay.runOnce()).toEqual({ delivered: 1, failed: 0, dead: 0 });
    expect(seen).toEqual([`${a.id}:created:1`, `${b.id}:created:1`, `${a.id}:created:2`, `${a.id}:created:1`, `${a.id}:updated:1`]);
  });

  it('an expired lease lets another relay take the event over; stop() is graceful', async () => {
    await Member.create({ email: 'l@o.io', visits: 1 });
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const delivering = new Promise<void>((resolve) => (entered = resolve));
    const slow = new OutboxRelay({
      connection: 'src',
      leaseMs: 200,
      handlers: {
        Member: () => {
          entered();
          return stuck;
        },
      },
    });
    const other = new OutboxRelay({ connection: 'src', leaseMs: 200, handlers: { Member: () => undefined } });
    // Both relays read a frozen clock, moved past the lease by hand: no sleeping, no race with the lease.
    vi.useFakeTimers({ toFake: ['Date'] });
    let first: Promise<unknown>;
    try {
      first = slow.runOnce();
      await delivering;
      const [leased] = await outbox();
      expect(leased).toMatchObject({ status: 'pending', locked_by: slow.id });
      expect(Number(leased.locked_until)).toBe(Date.now() + 200);
      // While the lease holds, the other relay cannot take the event.
      expect((await other.runOnce()).delivered).toBe(0);
      vi.setSystemTime(Date.now() + 199);
      expect((await other.runOnce()).delivered).toBe(0);
      // Once it has expired, it can.
      vi.setSystemTime(Date.now() + 2);
      expect((await other.runOnce()).delivered).toBe(1);
    } finally {
      vi.useRealTimers();
    }
    release();
    await first;
    expect((await outbox()).map((r) => r.status)).toEqual(['done']);

    for (let i = 0; i < 30; i++) await Member.create({ email: `s${i}@o.io`, visits: 1 });
    const delivered: string[] = [];
    const looping = new OutboxRelay({ connection: 'src', batchSize: 5, concurrency: 1, pollIntervalMs: 5, handlers: { Member: async (e) => void delivered.push(e.id) } });
    looping.start();
    while (delivered.length < 3) await new Promise((r) => setTimeout(r, 2));
    await looping.stop();
    const rows = await outbox();
    // Nothing stays leased after a graceful stop, and nothing delivered is left pending.
    expect(rows.filter((r) => r.locked_until !== null && r.status === 'pending')).toEqual([]);
    expect(rows.filter((r) => r.status === 'done').length).toBe(1 + delivered.length);
  });
});

