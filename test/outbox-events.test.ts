import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { ConnectionLostError, ConnectionManager, ensureOutboxTable, OutboxRelay, OUTBOX_TABLE, PolyrecordError, type ConnectionConfig, type OutboxEvent } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { createShopTables, ShopOrder } from './support/outbox-models.js';
import { deferred, waitFor } from './support/wait.js';

interface OutboxRowView {
  id: string;
  key: string;
  type: string;
  status: string;
  attempts: number;
  lockedBy: string | null;
  lastError: string | null;
  processed: boolean;
}

/** The same server on a port nothing listens on. */
function refused(config: ConnectionConfig): ConnectionConfig {
  return { url: Object.assign(new URL((config as { url: string }).url), { port: '1' }).toString() };
}

describeEachDialect('outbox events and relay events', (dialect) => {
  let drop: () => Promise<void>;
  let configs: ConnectionConfig[];
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    configs = provisioned.configs;
    ConnectionManager.configure('shop', configs[0]!);
    await createShopTables(ConnectionManager.get('shop').knex);
    await ensureOutboxTable('shop');
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });
  beforeEach(async () => {
    ShopOrder.failAfterSave = false;
    await ensureOutboxTable('shop'); // a test drops it
    for (const table of ['shop_orders', OUTBOX_TABLE]) await knex()(table).delete();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const knex = () => ConnectionManager.get('shop').knex;
  async function outbox(): Promise<OutboxRowView[]> {
    const rows = await knex()(OUTBOX_TABLE).orderBy('id');
    return rows.map((r) => ({
      id: String(r.id),
      key: String(r.aggregate_key),
      type: String(r.event_type),
      status: String(r.status),
      attempts: Number(r.attempts),
      lockedBy: r.locked_by === null ? null : String(r.locked_by),
      lastError: r.last_error === null ? null : String(r.last_error),
      processed: r.processed_at !== null,
    }));
  }
  const row = async (id: string) => (await outbox()).find((r) => r.id === id)!;
  const placedAt = new Date('2026-03-01T10:00:00.000Z');
  const order = (sku: string, qty = 1) => ShopOrder.create({ sku, qty, placedAt });

  /** Runs rounds until one finds nothing to do; the clock (frozen by the caller) jumps past any backoff between rounds. */
  async function drain(relay: OutboxRelay): Promise<void> {
    for (let round = 0; round < 20; round++) {
      const result = await relay.runOnce();
      if (result.delivered + result.failed + result.dead === 0) return;
      vi.setSystemTime(Date.now() + 60_000);
    }
    throw new Error('the relay kept finding work after 20 rounds');
  }

  it('@Model({ outbox: true }) writes one event per create, update and destroy, with the record as payload', async () => {
    const created = await order('A-1');
    created.qty = 2;
    await created.save();
    await created.save(); // nothing changed: no statement, no event
    await created.destroy();
    const rows = await knex()(OUTBOX_TABLE).orderBy('id');
    expect(rows.map((r) => [r.aggregate, String(r.aggregate_key), r.event_type, r.status])).toEqual([
      ['ShopOrder', String(created.id), 'created', 'pending'],
      ['ShopOrder', String(created.id), 'updated', 'pending'],
      ['ShopOrder', String(created.id), 'destroyed', 'pending'],
    ]);
    expect(rows.map((r) => JSON.parse(r.payload))).toEqual([
      { id: created.id, sku: 'A-1', qty: 1, placedAt: '2026-03-01T10:00:00.000Z' },
      { id: created.id, sku: 'A-1', qty: 2, placedAt: '2026-03-01T10:00:00.000Z' },
      { id: created.id, sku: 'A-1', qty: 2, placedAt: '2026-03-01T10:00:00.000Z' },
    ]);

    // A relay delivers them in order, and event.record() is a ShopOrder with its JS types back.
    const seen: Array<[string, ShopOrder]> = [];
    const relay = new OutboxRelay({ connection: 'shop', handlers: { ShopOrder: (event) => void seen.push([event.type, event.record<ShopOrder>()]) } });
    for (let round = 0; round < 3; round++) expect(await relay.runOnce()).toEqual({ delivered: 1, failed: 0, dead: 0 });
    expect(await relay.runOnce()).toEqual({ delivered: 0, failed: 0, dead: 0 });
    expect(seen.map(([type, record]) => [type, record.qty])).toEqual([
      ['created', 1],
      ['updated', 2],
      ['destroyed', 2],
    ]);
    expect(seen[0]![1]).toBeInstanceOf(ShopOrder);
    expect(seen[0]![1].placedAt).toEqual(placedAt);
    expect((await outbox()).map((r) => r.status)).toEqual(['done', 'done', 'done']);
  });

  it('@Model({ outbox: true }): the event commits or rolls back with its write', async () => {
    const kept = await order('K-1');
    // A rolled-back transaction leaves neither the order nor its event.
    await expect(
      ShopOrder.transaction(async () => {
        await order('R-1');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    // An after-hook that throws (after the event row was written) removes both.
    ShopOrder.failAfterSave = true;
    await expect(order('H-1')).rejects.toThrow('after-save hook failed on purpose');
    kept.qty = 5;
    await expect(kept.save()).rejects.toThrow('after-save hook failed on purpose');
    ShopOrder.failAfterSave = false;
    expect((await ShopOrder.all()).map((o) => [o.sku, o.qty])).toEqual([['K-1', 1]]);
    expect((await outbox()).map((r) => [r.key, r.type])).toEqual([[String(kept.id), 'created']]);

    // Without the outbox table the event cannot be written, so neither is the change.
    await knex().schema.renameTable(OUTBOX_TABLE, 'outbox_away');
    try {
      await expect(order('M-1')).rejects.toThrow(OUTBOX_TABLE);
      kept.qty = 7;
      await expect(kept.save()).rejects.toThrow(OUTBOX_TABLE);
    } finally {
      await knex().schema.renameTable('outbox_away', OUTBOX_TABLE);
    }
    expect((await ShopOrder.all()).map((o) => [o.sku, o.qty])).toEqual([['K-1', 1]]);
    expect(await outbox()).toHaveLength(1);
  });

  it("emits failed with (event, the handler's error) for each failed delivery, then delivered", async () => {
    const created = await order('F-1', 3);
    const thrown: Error[] = [];
    const relay = new OutboxRelay({
      connection: 'shop',
      maxAttempts: 3,
      backoff: { baseMs: 1, maxMs: 2 },
      handlers: {
        ShopOrder: (event) => {
          if (event.attempts < 3) {
            thrown.push(new Error(`target down (try ${event.attempts})`));
            throw thrown.at(-1);
          }
        },
      },
    });
    const failed: Array<[OutboxEvent, unknown]> = [];
    const dead: unknown[] = [];
    const delivered: OutboxEvent[] = [];
    relay.events.on('failed', (event, error) => failed.push([event, error]));
    relay.events.on('dead', (event) => dead.push(event));
    relay.events.on('delivered', (event) => delivered.push(event));
    const [written] = await outbox();

    vi.useFakeTimers({ toFake: ['Date'] });
    expect(await relay.runOnce()).toEqual({ delivered: 0, failed: 1, dead: 0 });
    expect(await row(written!.id)).toMatchObject({ status: 'pending', attempts: 1, lastError: 'Error: target down (try 1)' });
    vi.setSystemTime(Date.now() + 60_000);
    expect(await relay.runOnce()).toEqual({ delivered: 0, failed: 1, dead: 0 });
    vi.setSystemTime(Date.now() + 60_000);
    expect(await relay.runOnce()).toEqual({ delivered: 1, failed: 0, dead: 0 });

    expect(failed.map(([event]) => event.attempts)).toEqual([1, 2]);
    expect(failed.map(([, error]) => error)).toEqual(thrown);
    expect(failed[0]![1]).toBe(thrown[0]);
    expect(failed[1]![1]).toBe(thrown[1]);
    const [event] = failed[0]!;
    expect(event).toMatchObject({ id: written!.id, aggregate: 'ShopOrder', key: String(created.id), type: 'created', payload: { id: created.id, sku: 'F-1', qty: 3, placedAt: '2026-03-01T10:00:00.000Z' } });
    expect(event.createdAt).toBeInstanceOf(Date);
    expect(event.record<ShopOrder>()).toBeInstanceOf(ShopOrder);
    expect(dead).toEqual([]);
    expect(delivered.map((e) => [e.id, e.attempts])).toEqual([[written!.id, 3]]);
    expect(await row(written!.id)).toMatchObject({ status: 'done', attempts: 3, lastError: null, processed: true });
  });

  it("a listener of delivered or failed that throws does not change the delivery's outcome (reported as a warning)", async () => {
    const good = await order('G-1');
    const bad = await order('B-1');
    const calls: string[] = [];
    const relay = new OutboxRelay({
      connection: 'shop',
      backoff: { baseMs: 60_000, maxMs: 60_000 },
      handlers: {
        ShopOrder: (event) => {
          calls.push(event.key);
          if (event.key === String(bad.id)) throw new Error('target down');
        },
      },
    });
    relay.events.on('delivered', () => {
      throw new Error('delivered listener broke');
    });
    relay.events.on('failed', () => {
      throw new Error('failed listener broke');
    });
    const warnings: unknown[][] = [];
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation((...args: unknown[]) => void warnings.push(args));
    try {
      expect(await relay.runOnce()).toEqual({ delivered: 1, failed: 1, dead: 0 });
    } finally {
      warn.mockRestore();
    }
    // The handler succeeded once for G-1: it is done and not delivered again; B-1 failed once and waits for its retry.
    expect(calls.sort()).toEqual([String(good.id), String(bad.id)].sort());
    const rows = await outbox();
    expect(rows.map((r) => [r.key, r.status, r.attempts, r.lastError])).toEqual([
      [String(good.id), 'done', 1, null],
      [String(bad.id), 'pending', 1, 'Error: target down'],
    ]);
    expect(await relay.runOnce()).toEqual({ delivered: 0, failed: 0, dead: 0 });
    const reported = warnings.map(([message, type]) => [String(type), String(message)] as const);
    expect(reported).toHaveLength(2);
    expect(reported.every(([type, message]) => type === 'PolyrecordWarning' && message.includes(relay.id))).toBe(true);
    expect(reported.map(([, message]) => message).join('\n')).toContain('delivered listener broke');
    expect(reported.map(([, message]) => message).join('\n')).toContain('failed listener broke');
  });

  it('last_error keeps the first 4 000 characters of a long failure', async () => {
    await order('long');
    const relay = new OutboxRelay({ connection: 'shop', handlers: { ShopOrder: () => Promise.reject(new Error('x'.repeat(10_000))) } });
    expect(await relay.runOnce()).toEqual({ delivered: 0, failed: 1, dead: 0 });
    const [failed] = await outbox();
    expect(failed!.lastError).toBe(`Error: ${'x'.repeat(3_993)}`);
  });

  it('stop() during a delivery hands back the events claimed but not started: no lease left, their attempt undone', async () => {
    for (const sku of ['s1', 's2', 's3']) await order(sku);
    const entered = deferred();
    const gate = deferred();
    const handled: string[] = [];
    const relay = new OutboxRelay({
      connection: 'shop',
      concurrency: 1,
      handlers: {
        ShopOrder: async (event) => {
          handled.push(event.id);
          if (handled.length === 1) {
            entered.resolve();
            await gate.promise;
          }
        },
      },
    });
    relay.start();
    await entered.promise; // all three are claimed; the first is being delivered
    const stopping = relay.stop();
    gate.resolve();
    await stopping;
    expect(handled).toHaveLength(1);
    const rows = await knex()(OUTBOX_TABLE).orderBy('id');
    expect(rows.map((r) => [String(r.id) === handled[0] ? 'delivered' : 'handed back', r.status, Number(r.attempts), r.locked_until])).toEqual([
      ['delivered', 'done', 1, null],
      ['handed back', 'pending', 0, null],
      ['handed back', 'pending', 0, null],
    ]);
    // Another relay takes them at once, without waiting for a lease to expire.
    const other = new OutboxRelay({ connection: 'shop', handlers: { ShopOrder: (event) => void handled.push(event.id) } });
    expect(await other.runOnce()).toEqual({ delivered: 2, failed: 0, dead: 0 });
  });

  it('a failing first event holds back the later events of its record while other records go on; dead after maxAttempts; retryDead() with no ids requeues every dead event', async () => {
    // a: 3 events, b: 2, c: 1, d: 1. The handler fails for a and d.
    const a = await order('a');
    const b = await order('b');
    const c = await order('c');
    const d = await order('d');
    for (const record of [a, a, b]) {
      record.qty += 1;
      await record.save();
    }
    const keyOf = new Map([a, b, c, d].map((o) => [String(o.id), o.sku]));
    const failing = new Set(['a', 'd']);
    const handled: string[] = [];
    const thrown = new Map<string, Error>();
    const relay = new OutboxRelay({
      connection: 'shop',
      maxAttempts: 2,
      concurrency: 8,
      backoff: { baseMs: 1, maxMs: 2 },
      handlers: {
        ShopOrder: (event) => {
          const name = keyOf.get(event.key)!;
          handled.push(`${name}:${event.type}:${event.id}`);
          if (failing.has(name)) {
            const error = new Error(`${name} is rejected`);
            thrown.set(`${event.id}:${event.attempts}`, error);
            throw error;
          }
        },
      },
    });
    const dead: Array<[OutboxEvent, unknown]> = [];
    const failed: string[] = [];
    relay.events.on('dead', (event, error) => dead.push([event, error]));
    relay.events.on('failed', (event) => failed.push(`${keyOf.get(event.key)}:${event.attempts}`));
    const written = await outbox();
    const idsOf = (name: string) => written.filter((r) => keyOf.get(r.key) === name).map((r) => r.id);
    const [a1, a2, a3] = idsOf('a');
    const [d1] = idsOf('d');

    vi.useFakeTimers({ toFake: ['Date'] });
    await drain(relay);

    const of = (name: string) => handled.filter((h) => h.startsWith(`${name}:`));
    // a's and d's first events were tried twice; a's later events were never handed to the handler.
    expect(of('a')).toEqual([`a:created:${a1}`, `a:created:${a1}`]);
    expect(of('d')).toEqual([`d:created:${d1}`, `d:created:${d1}`]);
    // Other records were delivered, in order.
    expect(of('b')).toEqual(idsOf('b').map((id, i) => `b:${i === 0 ? 'created' : 'updated'}:${id}`));
    expect(of('c')).toEqual([`c:created:${idsOf('c')[0]}`]);
    expect(failed.sort()).toEqual(['a:1', 'd:1']);
    // dead: (event, the error of its last delivery).
    expect(dead.map(([event]) => [event.id, event.attempts, event.type]).sort()).toEqual([
      [a1, 2, 'created'],
      [d1, 2, 'created'],
    ].sort());
    for (const [event, error] of dead) expect(error).toBe(thrown.get(`${event.id}:2`));
    const states = await outbox();
    expect(states.filter((r) => r.status === 'dead').map((r) => r.id)).toEqual([a1, d1]);
    expect(states.find((r) => r.id === a1)!.lastError).toBe('Error: a is rejected');
    expect(states.filter((r) => r.id === a2 || r.id === a3).map((r) => [r.status, r.attempts])).toEqual([
      ['pending', 0],
      ['pending', 0],
    ]);

    // Fixed: retryDead() without ids puts back every dead event, then they and what they held back are delivered.
    failing.clear();
    handled.length = 0;
    // An empty id list revives nothing.
    expect(await relay.retryDead([])).toBe(0);
    expect((await outbox()).filter((r) => r.status === 'dead')).toHaveLength(2);
    expect(await relay.retryDead()).toBe(2);
    expect((await outbox()).filter((r) => r.id === a1 || r.id === d1).map((r) => [r.status, r.attempts, r.lockedBy])).toEqual([
      ['pending', 0, null],
      ['pending', 0, null],
    ]);
    await drain(relay);
    expect(of('a')).toEqual([`a:created:${a1}`, `a:updated:${a2}`, `a:updated:${a3}`]);
    expect(of('d')).toEqual([`d:created:${d1}`]);
    expect(handled).toHaveLength(4);
    expect((await outbox()).every((r) => r.status === 'done')).toBe(true);
    expect(await relay.retryDead()).toBe(0);
  });

  it('a relay whose lease was taken over cannot mark the event done: the new holder keeps the record blocked until it finishes', async () => {
    const created = await order('L-1');
    created.qty = 2;
    await created.save();
    const [first, second] = await outbox();
    const handled: string[] = [];
    const entered = { A: deferred(), B: deferred() };
    const gate = { A: deferred(), B: deferred() };
    const blocking = (name: 'A' | 'B') =>
      new OutboxRelay({
        connection: 'shop',
        leaseMs: 1_000,
        handlers: {
          ShopOrder: async (event) => {
            handled.push(`${name}:${event.id}:${event.attempts}`);
            entered[name].resolve();
            await gate[name].promise;
          },
        },
      });
    const relayA = blocking('A');
    const relayB = blocking('B');
    const relayC = new OutboxRelay({ connection: 'shop', leaseMs: 1_000, handlers: { ShopOrder: (event) => void handled.push(`C:${event.id}:${event.attempts}`) } });

    // Every relay reads a frozen clock, moved past the lease by hand.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const roundA = relayA.runOnce();
      await entered.A.promise;
      expect(await row(first!.id)).toMatchObject({ status: 'pending', lockedBy: relayA.id, attempts: 1 });
      vi.setSystemTime(Date.now() + 1_001); // A's lease has run out while its handler still runs
      const roundB = relayB.runOnce();
      await entered.B.promise;
      expect(await row(first!.id)).toMatchObject({ status: 'pending', lockedBy: relayB.id, attempts: 2 });

      // A's handler returns late: A counts its delivery but may not mark an event it no longer holds.
      gate.A.resolve();
      expect(await roundA).toEqual({ delivered: 1, failed: 0, dead: 0 });
      expect(await row(first!.id)).toMatchObject({ status: 'pending', lockedBy: relayB.id, processed: false });
      // B's delivery is still in flight, so the record's next event is not claimable.
      expect(await relayC.runOnce()).toEqual({ delivered: 0, failed: 0, dead: 0 });

      gate.B.resolve();
      expect(await roundB).toEqual({ delivered: 1, failed: 0, dead: 0 });
      expect(await row(first!.id)).toMatchObject({ status: 'done', lockedBy: relayB.id, processed: true });
      expect(await relayC.runOnce()).toEqual({ delivered: 1, failed: 0, dead: 0 });
    } finally {
      gate.A.resolve();
      gate.B.resolve();
    }
    expect(handled).toEqual([`A:${first!.id}:1`, `B:${first!.id}:2`, `C:${second!.id}:1`]);
    expect((await outbox()).map((r) => r.status)).toEqual(['done', 'done']);
  });

  it('an event claimed more than maxAttempts times without finishing is dead (E_OUTBOX_ATTEMPTS) without calling its handler', async () => {
    await order('P-1');
    const [event] = await outbox();
    const entered = deferred();
    const gate = deferred();
    const stuck = new OutboxRelay({
      connection: 'shop',
      maxAttempts: 1,
      leaseMs: 1_000,
      handlers: {
        ShopOrder: async () => {
          entered.resolve();
          await gate.promise;
        },
      },
    });
    const calls: string[] = [];
    const next = new OutboxRelay({ connection: 'shop', maxAttempts: 1, leaseMs: 1_000, handlers: { ShopOrder: (e) => void calls.push(e.id) } });
    const dead: Array<[OutboxEvent, unknown]> = [];
    next.events.on('dead', (e, error) => dead.push([e, error]));

    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const round = stuck.runOnce();
      await entered.promise;
      vi.setSystemTime(Date.now() + 1_001);
      expect(await next.runOnce()).toEqual({ delivered: 0, failed: 0, dead: 1 });
      gate.resolve();
      await round;
    } finally {
      gate.resolve();
    }
    expect(calls).toEqual([]);
    expect(dead).toHaveLength(1);
    const [deadEvent, error] = dead[0]!;
    expect(deadEvent).toMatchObject({ id: event!.id, attempts: 2, type: 'created' });
    expect(error).toBeInstanceOf(PolyrecordError);
    expect((error as PolyrecordError).code).toBe('E_OUTBOX_ATTEMPTS');
    // The first relay's late success does not revive it.
    expect(await row(event!.id)).toMatchObject({ status: 'dead', attempts: 2, lastError: `event ${event!.id} was claimed 2 times without finishing` });
  });

  it('emits error when a round fails outside any handler (outbox table dropped), keeps running, and delivers once the table is back', async () => {
    const errors: unknown[] = [];
    const delivered: string[] = [];
    const relay = new OutboxRelay({ connection: 'shop', pollIntervalMs: 5, handlers: { ShopOrder: (event) => void delivered.push(event.key) } });
    relay.events.on('error', (error) => errors.push(error));
    const before = await order('E-1');
    relay.start();
    try {
      await waitFor(() => delivered.includes(String(before.id)), 'the first delivery');
      await knex().schema.dropTable(OUTBOX_TABLE);
      await waitFor(() => errors.length >= 2, 'two failed rounds');
      for (const error of errors) {
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).message).toContain(OUTBOX_TABLE);
      }
      await ensureOutboxTable('shop');
      const after = await order('E-2');
      await waitFor(() => delivered.includes(String(after.id)), 'a delivery after the table came back');
    } finally {
      await relay.stop();
    }
    expect(delivered).toEqual([String(before.id), expect.any(String)]);
    expect((await outbox()).map((r) => r.status)).toEqual(['done']);
  });

  // Servers only: a SQLite file that cannot be opened is not a failure the relay can go on from (the
  // connection's gate stays taken after the failed open, and every later query waits for it).
  it.skipIf(dialect.driver === 'sqlite')(`emits error on every round while the connection is refused, and stop() still ends the loop${dialect.driver === 'sqlite' ? ' (servers only: SQLite has no connection to refuse)' : ''}`, async () => {
    ConnectionManager.configure('shop_down', refused(configs[0]!));
    try {
      const errors: unknown[] = [];
      const relay = new OutboxRelay({ connection: 'shop_down', pollIntervalMs: 5, handlers: { ShopOrder: () => undefined } });
      relay.events.on('error', (error) => errors.push(error));
      relay.start();
      try {
        await waitFor(() => errors.length >= 3, 'three failed rounds');
      } finally {
        await relay.stop();
      }
      // The relay's own statements (the outbox table's check first) go through the connection: a refused connect is a typed error.
      expect(errors.every((error) => error instanceof ConnectionLostError && error.driverCode === 'ECONNREFUSED')).toBe(true);
      // runOnce() itself rejects with the failure.
      await expect(relay.runOnce()).rejects.toBeInstanceOf(Error);
    } finally {
      await ConnectionManager.remove('shop_down');
    }
  });

  it('without an error listener a failed round is a PolyrecordWarning, and the loop goes on', async () => {
    const delivered: string[] = [];
    const relay = new OutboxRelay({ connection: 'shop', pollIntervalMs: 5, handlers: { ShopOrder: (event) => void delivered.push(event.key) } });
    await relay.runOnce(); // the relay has made sure of its table: it will not create it again
    await knex().schema.dropTable(OUTBOX_TABLE);
    // Observed at process.emitWarning (not printed).
    const warnings: unknown[][] = [];
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation((...args: unknown[]) => void warnings.push(args));
    const mine = () => warnings.filter(([message]) => String(message).includes(relay.id));
    relay.start();
    try {
      await waitFor(() => mine().length >= 2, 'two warnings');
      await ensureOutboxTable('shop');
      const created = await order('W-1');
      await waitFor(() => delivered.includes(String(created.id)), 'a delivery after the table came back');
    } finally {
      await relay.stop();
      warn.mockRestore();
    }
    expect(mine().every(([message, type]) => type === 'PolyrecordWarning' && String(message).includes(OUTBOX_TABLE))).toBe(true);
  });
});
