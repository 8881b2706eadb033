import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ConnectionManager, CrossDbTransaction, TableLog, TransactionCoordinator, type CoordinatorEvents, type CoordinatorLog } from '../src/index.js';
import { createAccounts } from './support/accounts.js';
import { describeEachDialect } from './support/dialects.js';
import { ourPreparedBranches } from './support/prepared.js';
import { leavePrepared, rollBackLeftovers, runNodeId } from './support/two-phase.js';
import { deferred, waitFor } from './support/wait.js';

/** A transaction id of the form the coordinator makes: creation time in base 36, then 10 characters. */
const transactionId = (suffix: string) => `${Date.now().toString(36).padStart(9, '0')}${suffix.padStart(10, '0')}`;

/**
 * What recover() and startRecovery() promise about their options: young branches and
 * young log records are left alone, stale branches are reported, the background loop
 * repeats until stopped. `rec_db` holds the branches (two-phase servers only), `rec_log`
 * the coordinator log (a TableLog, on every dialect).
 */
describeEachDialect('recovery options', (dialect) => {
  const nodeId = runNodeId('rec');
  const otherNode = runNodeId('rec-other');
  const twoPhase = dialect.driver !== 'sqlite';
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(2);
    drop = provisioned.drop;
    ConnectionManager.configure('rec_db', provisioned.configs[0]!);
    ConnectionManager.configure('rec_log', provisioned.configs[1]!);
    await createAccounts(ConnectionManager.get('rec_db').knex);
  });
  afterEach(async () => {
    if (twoPhase) expect(await rollBackLeftovers(['rec_db'], nodeId), 'prepared branches left behind by the test').toEqual([]);
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  /** Collects a coordinator's events of one kind. */
  const collect = <E extends keyof CoordinatorEvents>(coordinator: TransactionCoordinator, event: E) => {
    const events: Array<Parameters<CoordinatorEvents[E]>[0]> = [];
    coordinator.events.on(event, ((payload: Parameters<CoordinatorEvents[E]>[0]) => events.push(payload)) as never);
    return events;
  };

  it.runIf(twoPhase)('leaves branches younger than minAgeMs alone, and finishes them once old enough', async () => {
    const gtrid = `polyrec:${nodeId}:${transactionId('1')}`;
    await leavePrepared('rec_db', { gtrid, bqual: 'b0' }, 'update accounts set balance = 0 where id = 1');
    const young = await CrossDbTransaction.recover({ log: 'rec_log', connections: ['rec_db'], nodeId, minAgeMs: 60_000 });
    expect(young).toEqual({ committed: [], rolledBack: [], unknown: [] });
    expect(await ourPreparedBranches('rec_db', nodeId)).toEqual([`${gtrid}:b0`]);

    const old = await CrossDbTransaction.recover({ log: 'rec_log', connections: ['rec_db'], nodeId, minAgeMs: 0 });
    expect(old.rolledBack.map((b) => b.gid)).toEqual([`${gtrid}:b0`]);
    expect(await ourPreparedBranches('rec_db', nodeId)).toEqual([]);
    expect(Number((await ConnectionManager.get('rec_db').knex('accounts').where('id', 1).first()).balance)).toBe(1000);
  });

  it.runIf(twoPhase)('reports a prepared branch older than warnAfterMs by staleBranch, saying whether it is ours; a younger one not', async () => {
    const ours = `polyrec:${nodeId}:${transactionId('2')}`;
    const theirs = `polyrec:${otherNode}:${transactionId('3')}`;
    await leavePrepared('rec_db', { gtrid: ours, bqual: 'b0' }, 'update accounts set balance = 1 where id = 1');
    await leavePrepared('rec_db', { gtrid: theirs, bqual: 'b0' }, 'update accounts set balance = 2 where id = 2');
    try {
      const coordinator = new TransactionCoordinator();
      const stale = collect(coordinator, 'staleBranch');
      const ownGids = (events: typeof stale) => events.filter((e) => e.gid === `${ours}:b0` || e.gid === `${theirs}:b0`);
      // minAgeMs keeps recovery from finishing our branch: only the reports are looked at here.
      await CrossDbTransaction.recover({ log: 'rec_log', connections: ['rec_db'], nodeId, minAgeMs: 60_000, warnAfterMs: 60_000, coordinator });
      expect(ownGids(stale)).toEqual([]);
      await CrossDbTransaction.recover({ log: 'rec_log', connections: ['rec_db'], nodeId, minAgeMs: 60_000, warnAfterMs: 0, coordinator });
      const reported = ownGids(stale).map((e) => ({ gid: e.gid, ours: e.ours, connection: e.connection }));
      expect(reported.sort((a, b) => a.gid.localeCompare(b.gid))).toEqual(
        [
          { gid: `${ours}:b0`, ours: true, connection: 'rec_db' },
          { gid: `${theirs}:b0`, ours: false, connection: 'rec_db' },
        ].sort((a, b) => a.gid.localeCompare(b.gid)),
      );
      // Another node's branch is only reported, never finished.
      await CrossDbTransaction.recover({ log: 'rec_log', connections: ['rec_db'], nodeId, minAgeMs: 0, coordinator });
      expect((await ConnectionManager.get('rec_db').dialect.twoPhase!.listPrepared(await heldSession())).map((b) => b.xid.gtrid)).toContain(theirs);
    } finally {
      expect(await rollBackLeftovers(['rec_db'], otherNode)).toEqual([`${theirs}:b0`]);
    }
  });

  /** A session of rec_db, given back at once (listing prepared branches needs no transaction). */
  async function heldSession() {
    const connection = ConnectionManager.get('rec_db');
    const session = await connection.acquire();
    connection.release(session);
    return session;
  }

  it('marks a committing transaction of the log done once it is older than minAgeMs', async () => {
    const log = new TableLog({ connection: 'rec_log' });
    await log.ensure();
    const id = transactionId('4');
    // Every branch committed, then the coordinator died before writing "done": no branch is in doubt.
    await log.decide(id, 'committing', []);
    await CrossDbTransaction.recover({ log, connections: [], nodeId, minAgeMs: 60_000 });
    expect((await log.get(id))!.state).toBe('committing');
    expect((await log.pending()).map((r) => r.id)).toContain(id);

    await CrossDbTransaction.recover({ log, connections: [], nodeId, minAgeMs: 0 });
    expect((await log.get(id))!.state).toBe('committed');
    expect((await log.pending()).map((r) => r.id)).not.toContain(id);
  });

  it('startRecovery() runs a pass every intervalMs until stopped, and stop() during a pass ends the loop after it', async () => {
    const table = new TableLog({ connection: 'rec_log' });
    const third = deferred();
    const gate = deferred();
    let passes = 0;
    // The log's pending() runs once per pass: the third pass is held there until the loop has been told to stop.
    const log: CoordinatorLog = {
      description: table.description,
      ensure: () => table.ensure(),
      decide: (id, state, participants) => table.decide(id, state, participants),
      complete: (id) => table.complete(id),
      get: (id) => table.get(id),
      async pending() {
        passes += 1;
        if (passes === 3) {
          third.resolve();
          await gate.promise;
        }
        return table.pending();
      },
    };
    const stop = CrossDbTransaction.startRecovery({ log, connections: [], nodeId, intervalMs: 10, coordinator: new TransactionCoordinator() });
    await third.promise;
    const stopped = stop();
    gate.resolve();
    await stopped;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(passes).toBe(3);
  });

  it('startRecovery(): a failed pass is a process warning, and the loop goes on', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    const stop = CrossDbTransaction.startRecovery({ log: 'rec_log', connections: ['nowhere'], nodeId, intervalMs: 10, coordinator: new TransactionCoordinator() });
    try {
      await waitFor(() => warnings.filter((m) => m.startsWith('polyrecord recovery failed')).length >= 2, 'two failed passes reported');
    } finally {
      await stop();
      process.off('warning', onWarning);
    }
    expect(warnings.find((m) => m.startsWith('polyrecord recovery failed'))).toMatch(/nowhere/);
  });
});
