import { spawn } from 'node:child_process';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ConnectionManager, CrossDbTransaction, CrossDbTransactionError, TableLog, type ConnectionConfig } from '../src/index.js';
import { balanceOf, createAccounts, transfer } from './support/accounts.js';
import { compileFixture } from './support/compile-fixture.js';
import { ourPreparedBranches, preparedBranches } from './support/prepared.js';
import { describeEachServerPair } from './support/server-pairs.js';
import { rollBackLeftovers, runNodeId, sessionsOn, waitForNewSessionsToEnd, provisionBanks } from './support/two-phase.js';
import { deferred } from './support/wait.js';


// The coordinator child, compiled once for every pair's suite.
let compiled: string | undefined;
const childScript = () => (compiled ??= compileFixture('test/fixtures/cross-db-child.ts'));

function runChild(env: object, crashAt: string | undefined): Promise<'finished' | 'killed'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript()], {
      env: { ...process.env, CROSS_CHILD: JSON.stringify(env), POLYRECORD_TEST_CRASH_AT: crashAt ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0) resolve('finished');
      else reject(new Error(`child exited with ${code}: ${output}`));
    });
  });
}

/** `lastResource`: the two-phase participant chosen to carry the decision in its own commit (the option), if any. */
type Row = [from: 'bank_l' | 'bank_s', to: 'bank_l' | 'bank_r', crashAt: string, committed: boolean, lastResource?: 'bank_l' | 'bank_r'];

/** Every crash point of the protocol: run for the PostgreSQL + MariaDB pair. */
const FULL_MATRIX: Row[] = [
  ['bank_l', 'bank_r', 'before-prepare', false],
  ['bank_l', 'bank_r', 'after-prepare:0', false],
  ['bank_l', 'bank_r', 'after-prepare:1', false],
  ['bank_l', 'bank_r', 'after-prepares', false],
  ['bank_l', 'bank_r', 'after-decision', true],
  ['bank_l', 'bank_r', 'after-commit:0', true],
  ['bank_l', 'bank_r', 'after-commit:1', true],
  ['bank_l', 'bank_r', 'before-complete', true],
  ['bank_s', 'bank_r', 'after-prepares', false],
  ['bank_s', 'bank_r', 'before-last-resource-commit', false],
  ['bank_s', 'bank_r', 'after-last-resource-commit', true],
  ['bank_s', 'bank_l', 'after-decision', true],
  ['bank_s', 'bank_l', 'after-commit:1', true],
  ['bank_l', 'bank_r', 'after-prepares', false, 'bank_r'],
  ['bank_l', 'bank_r', 'before-last-resource-commit', false, 'bank_r'],
  ['bank_l', 'bank_r', 'after-last-resource-commit', true, 'bank_r'],
  ['bank_l', 'bank_r', 'after-commit:0', true, 'bank_r'],
  ['bank_l', 'bank_r', 'before-last-resource-commit', false, 'bank_l'],
  ['bank_l', 'bank_r', 'after-last-resource-commit', true, 'bank_l'],
];

/**
 * Two databases on one server: a subset, one point per kind of state at the crash (one
 * branch prepared and one active; decided, nothing committed; one branch committed and one
 * prepared; decided by the last resource).
 */
const SAME_SERVER_MATRIX: Row[] = [
  ['bank_l', 'bank_r', 'after-prepare:1', false],
  ['bank_l', 'bank_r', 'after-decision', true],
  ['bank_l', 'bank_r', 'after-commit:0', true],
  ['bank_s', 'bank_r', 'after-last-resource-commit', true],
  ['bank_l', 'bank_r', 'before-last-resource-commit', false, 'bank_r'],
  ['bank_l', 'bank_r', 'after-last-resource-commit', true, 'bank_r'],
];

/** A SQLite last resource joining after other branches started: the order the transfer touches the connections, the crash point, whether it commits. */
type LateRow = [path: string[], crashAt: string, committed: boolean];

const LATE_LAST_RESOURCE_MATRIX: LateRow[] = [
  [['bank_l', 'bank_s'], 'after-prepares', false],
  [['bank_l', 'bank_s'], 'after-last-resource-commit', true],
  [['bank_r', 'bank_s'], 'after-last-resource-commit', true],
  [['bank_l', 'bank_s', 'bank_r'], 'after-last-resource-commit', true],
  [['bank_l', 'bank_s', 'bank_r'], 'after-commit:0', true],
  [['bank_l', 'bank_r', 'bank_s'], 'before-prepare', false],
  [['bank_l', 'bank_r', 'bank_s'], 'after-prepares', false],
  [['bank_l', 'bank_r', 'bank_s'], 'before-last-resource-commit', false],
  [['bank_l', 'bank_r', 'bank_s'], 'after-last-resource-commit', true],
  [['bank_l', 'bank_r', 'bank_s'], 'after-commit:1', true],
];

const SAME_SERVER_LATE_MATRIX: LateRow[] = [
  [['bank_l', 'bank_s'], 'after-last-resource-commit', true],
  [['bank_l', 'bank_r', 'bank_s'], 'before-last-resource-commit', false],
  [['bank_l', 'bank_r', 'bank_s'], 'after-last-resource-commit', true],
];

describeEachServerPair('CrossDbTransaction crash recovery', (pair) => {
  const full = pair.key === 'pg-maria';
  const nodeId = runNodeId(`crash-${pair.key}`);
  const twoPhase = ['bank_l', 'bank_r'] as const;
  const drops: Array<() => Promise<void>> = [];
  const configs: Record<string, ConnectionConfig> = {};
  const urlOf = (name: string) => (configs[name] as { url: string }).url;
  // Someone else's in-doubt transactions, one per database: recovery must never touch them.
  const foreign = { bank_l: `foreign_${process.pid}_${pair.key.replace('-', '_')}_l`, bank_r: `foreign_${process.pid}_${pair.key.replace('-', '_')}_r` };

  beforeAll(async () => {
    const banks = await provisionBanks(pair, nodeId);
    drops.push(banks.drop);
    Object.assign(configs, banks.configs);
    for (const name of twoPhase) {
      if (ConnectionManager.get(name).driver === 'postgresql') {
        const client = new pg.Client({ connectionString: urlOf(name) });
        await client.connect();
        await client.query('BEGIN');
        await client.query(`PREPARE TRANSACTION '${foreign[name]}'`);
        await client.end();
      } else {
        const my = await mysql.createConnection(urlOf(name));
        await my.query(`XA START '${foreign[name]}'`);
        await my.query(`XA END '${foreign[name]}'`);
        await my.query(`XA PREPARE '${foreign[name]}'`);
        await my.end();
      }
    }
  });

  afterAll(async () => {
    for (const name of twoPhase) {
      if (!configs[name]) continue;
      if (ConnectionManager.get(name).driver === 'postgresql') {
        const client = new pg.Client({ connectionString: urlOf(name) });
        await client.connect();
        await client.query(`ROLLBACK PREPARED '${foreign[name]}'`).catch(() => undefined);
        await client.end();
      } else {
        const my = await mysql.createConnection(urlOf(name));
        await my.query(`XA ROLLBACK '${foreign[name]}'`).catch(() => undefined);
        await my.end();
      }
    }
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  });

  afterEach(async () => {
    // Every test must end with no branch of ours prepared. Those left behind are rolled back here, so that their
    // locks do not make the next test's set-up (or DROP DATABASE) wait, and then fail the test that left them.
    expect(await rollBackLeftovers(twoPhase, nodeId), 'prepared branches left behind by the test').toEqual([]);
  });

  async function reset(): Promise<void> {
    for (const name of ['bank_l', 'bank_r', 'bank_s']) await createAccounts(ConnectionManager.get(name).knex);
  }

  async function assertAtomic(from: string, to: string, committed: boolean): Promise<void> {
    expect([await balanceOf(from), await balanceOf(to)]).toEqual(committed ? [990, 1010] : [1000, 1000]);
    for (const name of twoPhase) expect(await ourPreparedBranches(name, nodeId)).toEqual([]);
    // Foreign in-doubt transactions are untouched.
    for (const name of twoPhase) {
      if (ConnectionManager.get(name).driver === 'postgresql') {
        const gids = (await ConnectionManager.get(name).knex.raw('select gid from pg_prepared_xacts')).rows.map((r: { gid: string }) => r.gid);
        expect(gids).toContain(foreign[name]);
      } else {
        expect(await preparedBranches(name)).toContain(`${foreign[name]}:`);
      }
    }
  }

  /**
   * Runs a coordinator (or recovery) child killed at `crashAt`, then waits until the servers have ended its sessions:
   * until then a MariaDB branch is still attached to its dead session, and a PostgreSQL PREPARE may still be running.
   */
  async function killedChild(env: object, crashAt: string): Promise<void> {
    const before = new Map<string, Set<string>>();
    for (const name of twoPhase) before.set(name, await sessionsOn(name));
    expect(await runChild({ configs, nodeId, ...env }, crashAt)).toBe('killed');
    for (const name of twoPhase) await waitForNewSessionsToEnd(name, before.get(name)!);
  }

  for (const [from, to, point, committed, lastResource] of full ? FULL_MATRIX : SAME_SERVER_MATRIX) {
    it(`${from} → ${to}${lastResource ? ` (lastResource ${lastResource})` : ''}: killed at ${point}, recovery ends ${committed ? 'committed' : 'rolled back'} on both sides`, async () => {
      await reset();
      await killedChild({ from, to, mode: 'transfer', lastResource }, point);
      await CrossDbTransaction.recover({ minAgeMs: 0 });
      await assertAtomic(from, to, committed);
      // Recovery again finds nothing left to do.
      const again = await CrossDbTransaction.recover({ minAgeMs: 0 });
      expect([...again.committed, ...again.rolledBack, ...again.unknown]).toEqual([]);
    });
  }

  for (const [path, point, committed] of full ? LATE_LAST_RESOURCE_MATRIX : SAME_SERVER_LATE_MATRIX) {
    it(`${path.join(' → ')} (SQLite last resource joins ${path.indexOf('bank_s') === 1 ? 'second' : 'third'}): killed at ${point}, recovery ends ${committed ? 'committed' : 'rolled back'} everywhere`, async () => {
      await reset();
      await killedChild({ path, mode: 'transfer' }, point);
      await CrossDbTransaction.recover({ minAgeMs: 0 });
      const middle = path.slice(1, -1);
      expect([await balanceOf(path[0]!), ...(await Promise.all(middle.map((name) => balanceOf(name)))), await balanceOf(path.at(-1)!)]).toEqual(committed ? [990, ...middle.map(() => 1000), 1010] : path.map(() => 1000));
      for (const name of twoPhase) expect(await ourPreparedBranches(name, nodeId)).toEqual([]);
      const again = await CrossDbTransaction.recover({ minAgeMs: 0 });
      expect([...again.committed, ...again.rolledBack, ...again.unknown]).toEqual([]);
    });
  }

  if (full) {
    for (const [point, recoveryCrash, committed] of [
      ['after-decision', 'recovery-after-branch', true],
      ['after-decision', 'recovery-after-decision', true],
      ['after-prepares', 'recovery-after-decision', false],
      ['after-prepares', 'recovery-after-branch', false],
    ] as const) {
      it(`killed at ${point}, then recovery killed at ${recoveryCrash}: recovery again ends ${committed ? 'committed' : 'rolled back'}`, async () => {
        await reset();
        await killedChild({ from: 'bank_l', to: 'bank_r', mode: 'transfer' }, point);
        await killedChild({ mode: 'recover' }, recoveryCrash);
        await CrossDbTransaction.recover({ minAgeMs: 0 });
        await assertAtomic('bank_l', 'bank_r', committed);
      });
    }
  }

  it('recovery leaves young branches of a live transaction alone, and a live coordinator obeys an abort recovery recorded first', async () => {
    await reset();
    const written = deferred();
    const resume = deferred();
    const running = CrossDbTransaction.run(async () => {
      await transfer('bank_l', 'bank_r', 10);
      written.resolve();
      await resume.promise;
    });
    await written.promise;
    // Nothing is prepared yet, and default minAgeMs protects young branches anyway.
    const result = await CrossDbTransaction.recover();
    expect(result.rolledBack).toEqual([]);
    resume.resolve();
    await running;
    await assertAtomic('bank_l', 'bank_r', true);

    // Recovery's abort landing before the coordinator's commit decision: the coordinator obeys it.
    await reset();
    const log = new TableLog({ connection: 'txlog' });
    const error = await CrossDbTransaction.run(async (tx) => {
      await transfer('bank_l', 'bank_r', 10);
      await log.decide(tx.id, 'aborted', []);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    expect((error as Error).message).toMatch(/recovery recorded an abort/);
    await assertAtomic('bank_l', 'bank_r', false);
  });
}, ['pg-maria', 'pg-pg', 'maria-maria']);
