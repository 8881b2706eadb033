import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ActiveRecord,
  Column,
  ConfigFileError,
  ConnectionManager,
  configureFrom,
  deadEvents,
  defineConfig,
  ensureOutboxTable,
  inDoubtBranches,
  loadConfig,
  Model,
  OperationInputError,
  Outbox,
  OUTBOX_TABLE,
  OutboxRelay,
  outboxStats,
  PrimaryKey,
  recoverInDoubt,
  resumeSaga,
  retryDead,
  Saga,
  sagaRuns,
  startRelays,
  TableLog,
  type ConnectionConfig,
} from '../src/index.js';
import { branchXid, newTransactionId } from '../src/transaction/gid.js';
import { describeEachDialect, mariadbAdmin, postgresAdmin } from './support/dialects.js';
import { leavePrepared, rollBackLeftovers, runNodeId } from './support/two-phase.js';
import { deferred, waitFor } from './support/wait.js';

@Outbox()
@Model({ connection: 'ops_src', table: 'ops_parcels' })
class OpsParcel extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) label!: string;
}

@Outbox()
@Model({ connection: 'ops_src', table: 'ops_crates' })
class OpsCrate extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) label!: string;
}

/** Whether a branch of ours is still prepared on a connection. */
const ownBranches = async (nodeId: string) => (await inDoubtBranches()).branches.filter((b) => b.node === nodeId);

describeEachDialect('operations: outbox, sagas, in-doubt branches', (dialect) => {
  const nodeId = runNodeId(`ops-${dialect.driver.slice(0, 5)}`);
  let drop: () => Promise<void>;
  let configs: ConnectionConfig[];
  // What the undo of the "ship" saga does: fail until told otherwise.
  const undo = { fails: true };
  const ship = new Saga<{ label: string; fail?: boolean }>('ops-ship', { log: 'ops_src', retry: { attempts: 1, baseMs: 1 } })
    .step('parcel', async ({ label }) => ({ label }), async () => {
      if (undo.fails) throw new Error('undo refused');
    })
    .step('post', async ({ fail }) => {
      if (fail) throw new Error('post office closed');
      return null;
    });

  beforeAll(async () => {
    const provisioned = await dialect.provision(3);
    drop = provisioned.drop;
    configs = provisioned.configs;
    configureFrom(
      defineConfig({
        connections: { ops_src: configs[0]!, ops_other: configs[1]!, ops_log: configs[2]! },
        coordinator: { log: { connection: 'ops_log', table: 'ops_tx_log' }, nodeId },
        sagas: { 'ops-ship': ship, 'ops-lazy': () => new Saga('ops-lazy', { log: 'ops_src' }).step('only', async () => null) },
      }),
    );
    for (const table of ['ops_parcels', 'ops_crates']) {
      await ConnectionManager.get('ops_src').knex.schema.createTable(table, (t) => {
        t.increments('id');
        t.string('label', 64);
      });
    }
    await ensureOutboxTable('ops_src');
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  describe('outbox', () => {
    beforeEach(async () => {
      for (const table of [OUTBOX_TABLE, 'ops_parcels', 'ops_crates']) await ConnectionManager.get('ops_src').knex(table).delete();
    });

    it('outboxStats counts pending, in-flight and dead events per model with the oldest pending age, only where an outbox table is', async () => {
      expect(await outboxStats()).toEqual([{ connection: 'ops_src', models: [] }]);
      await OpsParcel.create({ label: 'a' });
      await OpsParcel.create({ label: 'b' });
      await OpsCrate.create({ label: 'c' });

      const stats = await outboxStats();
      expect(stats.map((s) => s.connection)).toEqual(['ops_src']);
      expect(stats[0]!.models).toEqual([
        { model: 'OpsCrate', pending: 1, inFlight: 0, dead: 0, oldestPendingAt: expect.any(Date), oldestPendingAgeMs: expect.any(Number) },
        { model: 'OpsParcel', pending: 2, inFlight: 0, dead: 0, oldestPendingAt: expect.any(Date), oldestPendingAgeMs: expect.any(Number) },
      ]);
      const firstWritten = (await ConnectionManager.get('ops_src').knex(OUTBOX_TABLE).where({ aggregate: 'OpsParcel' }).orderBy('id').first()).id;
      expect(stats[0]!.models[1]!.oldestPendingAgeMs).toBeGreaterThanOrEqual(0);

      // A delivery under way is in flight; a failed one (one attempt allowed) is dead.
      const entered = deferred();
      const release = deferred();
      const relay = new OutboxRelay({
        connection: 'ops_src',
        maxAttempts: 1,
        handlers: {
          OpsParcel: async (event) => {
            if (event.id !== String(firstWritten)) throw new Error(`refused ${event.key}`);
            entered.resolve();
            await release.promise;
          },
          OpsCrate: async () => undefined,
        },
      });
      const round = relay.runOnce();
      await entered.promise;
      const during = (await outboxStats())[0]!.models.find((m) => m.model === 'OpsParcel')!;
      expect({ pending: during.pending, inFlight: during.inFlight + during.dead }).toEqual({ pending: 0, inFlight: 2 });
      release.resolve();
      expect(await round).toEqual({ delivered: 2, failed: 0, dead: 1 });
      expect((await outboxStats())[0]!.models).toEqual([{ model: 'OpsParcel', pending: 0, inFlight: 0, dead: 1, oldestPendingAt: null, oldestPendingAgeMs: null }]);
    });

    it('deadEvents lists dead events with their last error; retryDead puts them back and a relay delivers them', async () => {
      const parcel = await OpsParcel.create({ label: 'p' });
      await OpsCrate.create({ label: 'q' });
      const failing = new OutboxRelay({ connection: 'ops_src', maxAttempts: 1, handlers: { OpsParcel: () => Promise.reject(new Error('carrier down')), OpsCrate: () => Promise.reject(new TypeError('no crate')) } });
      expect(await failing.runOnce()).toMatchObject({ dead: 2 });

      const dead = await deadEvents();
      expect(dead).toEqual([
        { connection: 'ops_src', id: expect.any(String), model: 'OpsParcel', key: String(parcel.id), type: 'created', attempts: 1, lastError: 'Error: carrier down', createdAt: expect.any(Date) },
        { connection: 'ops_src', id: expect.any(String), model: 'OpsCrate', key: expect.any(String), type: 'created', attempts: 1, lastError: 'TypeError: no crate', createdAt: expect.any(Date) },
      ]);
      expect((await deadEvents({ model: 'OpsCrate' })).map((e) => e.model)).toEqual(['OpsCrate']);
      expect(await deadEvents({ limit: 1 })).toHaveLength(1);

      const delivered: string[] = [];
      const working = new OutboxRelay({ connection: 'ops_src', handlers: { OpsParcel: (e) => void delivered.push(e.id), OpsCrate: (e) => void delivered.push(e.id) } });
      expect(await retryDead([dead[0]!.id])).toBe(1);
      await working.runOnce();
      expect(delivered).toEqual([dead[0]!.id]);
      expect((await deadEvents()).map((e) => e.id)).toEqual([dead[1]!.id]);
      expect(await retryDead('all')).toBe(1);
      await working.runOnce();
      expect(delivered).toEqual([dead[0]!.id, dead[1]!.id]);
      expect(await deadEvents()).toEqual([]);
      expect((await outboxStats())[0]!.models).toEqual([]);
    });

    it('startRelays runs the configured relays (workers of them) until stopped; without relays it refuses', async () => {
      const delivered: string[] = [];
      const config = { connections: {}, relays: [{ connection: 'ops_src', pollIntervalMs: 10, handlers: { OpsParcel: (e: { key: string }) => void delivered.push(e.key), OpsCrate: () => undefined } }] };
      const running = startRelays({ config, workers: 2 });
      try {
        expect(running.relays).toHaveLength(2);
        const parcel = await OpsParcel.create({ label: 'r' });
        await waitFor(() => delivered.length === 1, 'the relays to deliver');
        expect(delivered).toEqual([String(parcel.id)]);
      } finally {
        await running.stop();
      }
      expect((await outboxStats())[0]!.models).toEqual([]);
      expect(() => startRelays()).toThrow(expect.objectContaining({ constructor: OperationInputError, field: 'relays' }));
      expect(() => startRelays({ config, connection: 'ops_other' })).toThrow(expect.objectContaining({ constructor: OperationInputError, known: ['ops_src'] }));
      expect(() => startRelays({ config, workers: 0 })).toThrow(expect.objectContaining({ constructor: OperationInputError, field: 'workers' }));
    });

    it('retryDead refuses a malformed id, and bare ids when several connections have an outbox, changing nothing', async () => {
      await OpsParcel.create({ label: 'x' });
      await new OutboxRelay({ connection: 'ops_src', maxAttempts: 1, handlers: { OpsParcel: () => Promise.reject(new Error('no')) } }).runOnce();
      const [event] = await deadEvents();
      await expect(retryDead(['1; drop table x'])).rejects.toThrow(expect.objectContaining({ constructor: OperationInputError, field: 'ids' }));
      await ensureOutboxTable('ops_other');
      try {
        await expect(retryDead([event!.id])).rejects.toThrow(expect.objectContaining({ constructor: OperationInputError, field: 'connection', known: ['ops_src', 'ops_other'] }));
        expect(await deadEvents()).toHaveLength(1);
        expect(await retryDead([event!.id], { connection: 'ops_src' })).toBe(1);
      } finally {
        await ConnectionManager.get('ops_other').knex.schema.dropTable(OUTBOX_TABLE);
      }
    });
  });

  describe('sagas', () => {
    it('sagaRuns lists the runs of the configured sagas by status; resumeSaga resumes by name', async () => {
      await ship.run({ label: 'ok' });
      await expect(ship.run({ label: 'ko', fail: true })).rejects.toThrow('compensation could not finish');
      const runs = await sagaRuns();
      expect(runs.map((r) => [r.sagaName, r.status, (r.input as { label: string }).label])).toEqual([
        ['ops-ship', 'failed', 'ko'],
        ['ops-ship', 'completed', 'ok'],
      ]);
      expect(runs[0]).toMatchObject({ currentStep: 'parcel', error: expect.stringContaining('undo refused') });
      expect((await sagaRuns({ status: 'completed' })).map((r) => r.input)).toEqual([{ label: 'ok' }]);
      expect(await sagaRuns({ limit: 1 })).toHaveLength(1);
      await expect(sagaRuns({ status: 'stuck' as never })).rejects.toThrow(expect.objectContaining({ constructor: OperationInputError, field: 'status' }));

      undo.fails = false;
      expect(await resumeSaga('ops-ship')).toEqual({ completed: [], compensated: [runs[0]!.runId], failed: [], skipped: [] });
      expect(await sagaRuns({ status: 'failed' })).toEqual([]);
      expect(await resumeSaga('ops-lazy')).toEqual({ completed: [], compensated: [], failed: [], skipped: [] });
      await expect(resumeSaga('ops-shipp')).rejects.toThrow(expect.objectContaining({ constructor: OperationInputError, known: ['ops-ship', 'ops-lazy'], message: expect.stringContaining('"ops-ship", "ops-lazy"') }));
    });
  });

  describe.runIf(dialect.driver !== 'sqlite')('in-doubt branches', () => {
    const foreignGid = `opsforeign_${process.pid}`;
    /** Runs statements in one session of its own, as another program would. */
    const admin = (...statements: string[]) => {
      const url = (configs[0] as { url: string }).url;
      return (dialect.driver === 'postgresql' ? postgresAdmin(url) : mariadbAdmin(url))(statements);
    };
    afterAll(async () => {
      await rollBackLeftovers(['ops_src'], nodeId);
      await admin(dialect.driver === 'postgresql' ? `ROLLBACK PREPARED '${foreignGid}'` : `XA ROLLBACK '${foreignGid}'`).catch(() => undefined);
    });

    it('inDoubtBranches lists ours with node, age and decision, and foreign ones; recoverInDoubt finishes ours by the decision', async () => {
      await ConnectionManager.get('ops_src').knex.schema.createTable('ops_ledger', (t) => t.string('entry', 32).primary());
      const committed = newTransactionId();
      const undecided = newTransactionId();
      // A transaction whose last resource (ops_other) joined after this branch: the log only says where its decision lives.
      const delegated = newTransactionId();
      const log = new TableLog({ connection: 'ops_log', table: 'ops_tx_log' });
      await log.decide(delegated, 'delegated', [{ connection: 'ops_other', gtrid: '', bqual: '', lastResource: true }]);
      await leavePrepared('ops_src', branchXid(nodeId, delegated, 0, undefined), "insert into ops_ledger (entry) values ('delegated')");
      await log.decide(committed, 'committing', [{ connection: 'ops_src', gtrid: '', bqual: '', lastResource: false }]);
      await leavePrepared('ops_src', branchXid(nodeId, committed, 0, undefined), "insert into ops_ledger (entry) values ('committed')");
      await leavePrepared('ops_src', branchXid(nodeId, undecided, 0, undefined), "insert into ops_ledger (entry) values ('undecided')");
      // Somebody else's in-doubt transaction, left by a session that has ended.
      if (dialect.driver === 'postgresql') await admin('BEGIN', `PREPARE TRANSACTION '${foreignGid}'`);
      else await admin(`XA START '${foreignGid}'`, `XA END '${foreignGid}'`, `XA PREPARE '${foreignGid}'`);
      const { branches, unreachable } = await inDoubtBranches();
      // MariaDB lists the server's branches through each connection to it: one entry names them all.
      const sameServer = dialect.driver === 'postgresql' ? ['ops_src'] : ['ops_src', 'ops_other', 'ops_log'];
      expect(unreachable).toEqual([]);
      const ours = branches.filter((b) => b.node === nodeId).sort((a, b) => a.gid.localeCompare(b.gid));
      const expected = [
        { transactionId: committed, decision: 'commit', decisionIn: 'log' },
        { transactionId: undecided, decision: null, decisionIn: 'log' },
        { transactionId: delegated, decision: null, decisionIn: 'ops_other' },
      ].sort((a, b) => a.transactionId.localeCompare(b.transactionId));
      expect(ours).toEqual(
        expected.map((e) => ({ connection: 'ops_src', connections: sameServer, gid: `polyrec:${nodeId}:${e.transactionId}:b0`, ours: true, node: nodeId, thisNode: true, since: expect.any(Date), ageMs: expect.any(Number), ...e })),
      );
      expect(branches.find((b) => b.gid === foreignGid)).toMatchObject({ connection: 'ops_src', ours: false, node: null, transactionId: null, thisNode: false, decision: null, decisionIn: null });

      // The undecided branch is not older than an hour: left alone.
      expect(await recoverInDoubt({ minAgeMs: 3_600_000 })).toEqual({ committed: [], rolledBack: [], unknown: [] });
      expect(await ownBranches(nodeId)).toHaveLength(3);
      const result = await recoverInDoubt({ minAgeMs: 0 });
      expect(result.committed.map((b) => b.transactionId)).toEqual([committed]);
      expect(result.rolledBack.map((b) => b.transactionId).sort()).toEqual([undecided, delegated].sort());
      expect(await ownBranches(nodeId)).toEqual([]);
      expect((await ConnectionManager.get('ops_src').knex('ops_ledger').select('entry')).map((r) => r.entry)).toEqual(['committed']);
      expect((await inDoubtBranches()).branches.map((b) => b.gid)).toContain(foreignGid);
      await expect(recoverInDoubt({ minAgeMs: -1 })).rejects.toThrow(expect.objectContaining({ constructor: OperationInputError, field: 'minAgeMs' }));
    });
  });
});

describe('the config fields of the operations commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'polyrecord-ops-config-'));
  const load = (body: string) => {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(file, `export default { connections: { main: { driver: 'sqlite', database: ':memory:' } }, ${body} }\n`);
    return loadConfig(file);
  };

  it.each([
    ['coordinator: { log: { connection: "nope" } }', 'coordinator.log.connection'],
    ['coordinator: { log: "main" }', 'coordinator.log'],
    ['coordinator: { log: { connection: "main" }, nodeId: 7 }', 'coordinator.nodeId'],
    ['relays: { connection: "main" }', 'relays'],
    ['relays: [{ connection: "main", batchSize: 0 }]', 'relays[0].batchSize'],
    ['relays: [{ connection: "main" }, { connection: "main", workers: 1.5 }]', 'relays[1].workers'],
    ['relays: [{ connection: "main", handler: {} }]', 'relays[0].handler'],
    ['relays: [{ connection: "main", handlers: { Order: 1 } }]', 'relays[0].handlers.Order'],
    ['relays: [{ connection: "elsewhere" }]', 'relays[0].connection'],
    ['sagas: { a: {} }', 'sagas.a'],
    ['sagas: { a: { name: "b", run() {}, resume() {} } }', 'sagas.a'],
  ])('refuses %s naming the field %s', async (body, field) => {
    await expect(load(body)).rejects.toThrow(expect.objectContaining({ constructor: ConfigFileError, field, message: expect.stringContaining(`${field}: `) }));
  });

  it('accepts well-formed coordinator, relays and sagas (a log object, aliases, saga factories)', async () => {
    const { config } = await load('aliases: { txlog: "main" }, coordinator: { log: { ensure() {}, decide() {}, complete() {}, get() {}, pending() {} } }, relays: [{ connection: "txlog", handlers: { Order() {} }, workers: 2 }], sagas: { a: () => ({}), b: { name: "b", run() {}, resume() {} } }');
    expect(config.relays).toHaveLength(1);
  });
});
