import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { ConfigError, ConnectionManager, CrossDbTransaction, CrossDbTransactionError, TableLog, TransactionCoordinator, TX_NODES_TABLE, type CoordinatorEvents, type CoordinatorLog, type NodeLease } from '../src/index.js';
import { balanceOf, createAccounts } from './support/accounts.js';
import { describeEachDialect } from './support/dialects.js';
import { ourPreparedBranches } from './support/prepared.js';
import { leavePrepared, rollBackLeftovers, runNodeId } from './support/two-phase.js';
import { deferred, waitFor } from './support/wait.js';

/** A transaction id of the form the coordinator makes: creation time in base 36, then 10 characters. */
const transactionId = (suffix: string) => `${Date.now().toString(36).padStart(9, '0')}${suffix.padStart(10, '0')}`;

/** Short cluster timings, so that leases expire within a test. */
const LEASE_MS = 300;
const FAST = { leaseMs: LEASE_MS, heartbeatMs: 100, intervalMs: 100 };

/**
 * Node leases and takeovers, with the log (a TableLog on `cl_log`) on every dialect, and
 * branches on `cl_db` where the dialect has two-phase commit. The nodes here run in this
 * process (each with its own coordinator for its events); test/cluster.test.ts runs them
 * as separate processes and kills them.
 */
describeEachDialect('coordinator node leases', (dialect) => {
  const twoPhase = dialect.driver !== 'sqlite';
  const ids = { a: runNodeId('ls-a'), b: runNodeId('ls-b'), t: runNodeId('ls-t'), d: runNodeId('ls-d') };
  const log = new TableLog({ connection: 'cl_log' });
  const leases = log.leases;
  const stops: Array<() => Promise<void>> = [];
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const provisioned = await dialect.provision(2);
    drop = provisioned.drop;
    ConnectionManager.configure('cl_db', provisioned.configs[0]!);
    ConnectionManager.configure('cl_log', provisioned.configs[1]!);
  });
  beforeEach(async () => {
    await createAccounts(ConnectionManager.get('cl_db').knex);
    await log.ensure();
    await leases.list();
    await ConnectionManager.get('cl_log').knex(TX_NODES_TABLE).delete();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    if (twoPhase) for (const id of Object.values(ids)) expect(await rollBackLeftovers(['cl_db'], id), 'prepared branches left behind by the test').toEqual([]);
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  /** A node: startRecovery with its own coordinator, whose events are collected. */
  function startNode(nodeId: string, options: { takeOver?: boolean; minAgeMs?: number; logged?: CoordinatorLog } = {}) {
    const coordinator = new TransactionCoordinator();
    const events: Array<{ event: keyof CoordinatorEvents; payload: Record<string, unknown> }> = [];
    for (const event of ['takeover', 'takeoverReleased', 'takenOver', 'rejoined'] as const) coordinator.events.on(event, (payload: object) => events.push({ event, payload: payload as Record<string, unknown> }));
    const stop = CrossDbTransaction.startRecovery({ log: options.logged ?? log, nodeId, connections: twoPhase ? ['cl_db'] : [], coordinator, minAgeMs: options.minAgeMs ?? 0, ...FAST, ...(options.takeOver === undefined ? {} : { takeOver: options.takeOver }) });
    stops.push(stop);
    return { events, coordinator, of: (event: keyof CoordinatorEvents) => events.filter((e) => e.event === event).map((e) => e.payload) };
  }

  /** Claims `nodeId`'s row for `by` as it stands now (retrying if a heartbeat lands in between). */
  async function claimNow(nodeId: string, by: string | null, leaseMs = LEASE_MS): Promise<NodeLease> {
    for (;;) {
      const claimed = await leases.claim((await leases.get(nodeId))!, by, leaseMs);
      if (claimed) return claimed;
    }
  }

  it('register creates a row at epoch 1 owned by the node; renew moves its beat only with the current epoch and holder', async () => {
    const row = await leases.register(ids.a, 1000);
    expect(row).toMatchObject({ nodeId: ids.a, epoch: 1, beat: 1, leaseMs: 1000, recoveredBy: null, retiredAt: null });
    expect(await leases.register(ids.a, 5000)).toMatchObject({ epoch: 1, beat: 1, leaseMs: 1000 });
    expect(await leases.renew(ids.a, 1, null, 1000)).toBe(true);
    expect(await leases.renew(ids.a, 2, null, 1000)).toBe(false);
    expect(await leases.renew(ids.a, 1, ids.b, 1000)).toBe(false);
    expect(await leases.get(ids.a)).toMatchObject({ epoch: 1, beat: 2 });
  });

  it('of concurrent claims of one row as seen, exactly one lands, bumping the epoch; a claim of a row seen before a renewal does not land', async () => {
    const seen = await leases.register(ids.d, LEASE_MS);
    const claims = await Promise.all([ids.a, ids.b, ids.t].map((by) => leases.claim(seen, by, LEASE_MS)));
    const won = claims.filter((c) => c !== undefined);
    expect(won).toHaveLength(1);
    expect(await leases.get(ids.d)).toMatchObject({ epoch: 2, recoveredBy: won[0]!.recoveredBy });

    const before = (await leases.get(ids.d))!;
    expect(await leases.renew(ids.d, 2, won[0]!.recoveredBy, LEASE_MS)).toBe(true);
    expect(await leases.claim(before, ids.a, LEASE_MS)).toBeUndefined();
  });

  it('a node taken over leaves its branches alone and does not fight; once released it adopts the bumped epoch without a claim and recovers them', async () => {
    const node = startNode(ids.a);
    await waitFor(async () => (await leases.get(ids.a))?.recoveredBy === null, 'the node to register');
    // The taker (this test) claims with a long lease: the node must wait for it however slowly this machine runs.
    const claimed = await claimNow(ids.a, ids.t, 60_000);
    await waitFor(() => node.of('takenOver').length > 0, 'the node to see it was taken over');
    expect(node.of('takenOver')).toEqual([{ nodeId: ids.a, by: ids.t, epoch: claimed.epoch }]);
    // A branch of node a, in doubt while the taker holds a's duty.
    const gtrid = `polyrec:${ids.a}:${transactionId('1')}`;
    if (twoPhase) await leavePrepared('cl_db', { gtrid, bqual: 'b0' }, 'update accounts set balance = 0 where id = 1');
    // Several of the node's heartbeats and passes later, it has neither renewed, claimed nor recovered: the row is as the taker left it.
    await new Promise((resolve) => setTimeout(resolve, 6 * 100));
    expect(await leases.get(ids.a)).toMatchObject({ epoch: claimed.epoch, beat: claimed.beat, recoveredBy: ids.t });
    if (twoPhase) expect(await ourPreparedBranches('cl_db', ids.a)).toEqual([`${gtrid}:b0`]);

    expect(await leases.release(ids.a, claimed.epoch, ids.t)).toBe(true);
    await waitFor(() => node.of('rejoined').length > 0, 'the node to hold its lease again');
    expect(node.of('rejoined')).toEqual([{ nodeId: ids.a, epoch: claimed.epoch }]);
    expect(await leases.get(ids.a)).toMatchObject({ epoch: claimed.epoch, recoveredBy: null });
    expect(node.of('takeover')).toEqual([]);
    // Its own recovery is back: the branch (no decision) is rolled back.
    if (twoPhase) await waitFor(async () => (await ourPreparedBranches('cl_db', ids.a)).length === 0, "the node's own recovery");
    expect(await balanceOf('cl_db', 1)).toBe(1000);
  });

  it('a taker that dies mid-takeover: once its claim has not moved for a lease, the node takes its duty back (epoch bumped again)', async () => {
    const node = startNode(ids.a, { takeOver: false });
    await waitFor(async () => (await leases.get(ids.a))?.recoveredBy === null, 'the node to register');
    // The taker claims and is never heard of again.
    const claimed = await claimNow(ids.a, ids.t);
    await waitFor(() => node.of('rejoined').length > 0, 'the node to take its duty back');
    expect(node.of('takenOver')).toEqual([{ nodeId: ids.a, by: ids.t, epoch: claimed.epoch }]);
    expect(node.of('rejoined')).toEqual([{ nodeId: ids.a, epoch: claimed.epoch + 1 }]);
    expect(await leases.get(ids.a)).toMatchObject({ epoch: claimed.epoch + 1, recoveredBy: null });
  });

  it('a live node takes over an expired node: finishes its branches by the log (commit decision committed, none rolled back), releases it; a sweep that finds nothing retires it, and nobody sweeps it again', async () => {
    const committed = transactionId('2');
    const undecided = transactionId('3');
    const done = transactionId('4');
    if (twoPhase) {
      await leavePrepared('cl_db', { gtrid: `polyrec:${ids.d}:${committed}`, bqual: 'b0' }, 'update accounts set balance = balance + 10 where id = 1');
      await leavePrepared('cl_db', { gtrid: `polyrec:${ids.d}:${undecided}`, bqual: 'b0' }, 'update accounts set balance = balance + 10 where id = 2');
    }
    await log.decide(committed, 'committing', [{ connection: 'cl_db', gtrid: `polyrec:${ids.d}:${committed}`, bqual: 'b0', lastResource: false }]);
    // Every branch of this one committed; only its done mark is missing.
    await log.decide(done, 'committing', [{ connection: 'cl_db', gtrid: `polyrec:${ids.d}:${done}`, bqual: 'b0', lastResource: false }]);
    await leases.register(ids.d, LEASE_MS);

    const taker = startNode(ids.b);
    await waitFor(() => taker.of('takeoverReleased').some((e) => e.retired === true), 'a sweep that retires the dead node', 30_000);
    const [first, ...rest] = taker.of('takeoverReleased');
    expect(taker.of('takeover')[0]).toEqual({ nodeId: ids.d, by: ids.b, epoch: 2 });
    expect(first).toMatchObject({ nodeId: ids.d, by: ids.b, epoch: 2, retired: false });
    const result = first!.result as { committed: Array<{ transactionId: string }>; rolledBack: Array<{ transactionId: string }> };
    if (twoPhase) {
      expect(result.committed.map((b) => b.transactionId)).toEqual([committed]);
      expect(result.rolledBack.map((b) => b.transactionId)).toEqual([undecided]);
      expect([await balanceOf('cl_db', 1), await balanceOf('cl_db', 2)]).toEqual([1010, 1000]);
      expect(await ourPreparedBranches('cl_db', ids.d)).toEqual([]);
    }
    expect((await log.get(undecided))?.state).toBe(twoPhase ? 'aborted' : undefined);
    expect((await log.get(done))?.state).toBe('committed');
    expect(rest.at(-1)).toMatchObject({ nodeId: ids.d, by: ids.b, epoch: 3, retired: true });
    expect((await leases.get(ids.d))!.retiredAt).toBeInstanceOf(Date);

    // Retired: not swept again while it does not renew.
    const sweeps = taker.of('takeover').length;
    await new Promise((resolve) => setTimeout(resolve, 4 * LEASE_MS));
    expect(taker.of('takeover')).toHaveLength(sweeps);
  });

  it.runIf(twoPhase)('the referee across a takeover: a node whose transaction the taker presumed aborted cannot decide commit after it, and rolls back', async () => {
    // Node a's commit decision waits (a slow log write) until the takeover has run.
    const gate = deferred();
    const slowCommit: CoordinatorLog = {
      description: log.description,
      ensure: () => log.ensure(),
      decide: async (id, state, participants) => {
        if (state === 'committing') await gate.promise;
        return log.decide(id, state, participants);
      },
      complete: (id) => log.complete(id),
      get: (id) => log.get(id),
      pending: () => log.pending(),
    };
    await leases.register(ids.a, LEASE_MS);
    const coordinator = new TransactionCoordinator();
    const prepared = deferred();
    coordinator.events.on('prepared', () => prepared.resolve());
    const running = CrossDbTransaction.run(async () => {
      await ConnectionManager.get('cl_db').knex.raw('select 1');
      const { Account } = await import('./support/accounts.js');
      await Account.using('cl_db').rawQuery('update accounts set balance = balance - 10 where id = 1');
    }, { log: slowCommit, nodeId: ids.a, coordinator }).catch((e: unknown) => e);
    await prepared.promise;

    const taker = startNode(ids.b);
    await waitFor(() => taker.of('takeoverReleased').length > 0, 'the takeover of node a');
    expect(taker.of('takeover')[0]).toMatchObject({ nodeId: ids.a, by: ids.b });
    gate.resolve();
    const error = await running;
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    expect((error as Error).message).toMatch(/recovery recorded an abort before the commit decision/);
    expect(await balanceOf('cl_db', 1)).toBe(1000);
  });

  it('bad lease options are a ConfigError and start nothing', () => {
    expect(() => CrossDbTransaction.startRecovery({ log, nodeId: ids.a, leaseMs: 100, heartbeatMs: 100 })).toThrow(ConfigError);
    expect(() => CrossDbTransaction.startRecovery({ log, nodeId: ids.a, leaseMs: -1 })).toThrow(/leaseMs/);
  });
});
