import { spawn } from 'node:child_process';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionManager, CrossDbTransaction, CrossDbTransactionError, TableLog, type ConnectionConfig } from '../src/index.js';
import { balanceOf, createAccounts, transfer } from './support/accounts.js';
import { compileFixture } from './support/compile-fixture.js';
import { DIALECTS } from './support/dialects.js';
import { ourPreparedBranches, preparedBranches } from './support/prepared.js';

const postgres = DIALECTS.find((d) => d.driver === 'postgresql');
const mariadb = DIALECTS.find((d) => d.driver === 'mysql');
const sqlite = DIALECTS.find((d) => d.driver === 'sqlite')!;

function runChild(script: string, env: object, crashAt: string | undefined): Promise<'finished' | 'killed'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
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

describe.runIf(postgres && mariadb)('CrossDbTransaction crash recovery [postgresql + mysql + sqlite]', () => {
  const drops: Array<() => Promise<void>> = [];
  const configs: Record<string, ConnectionConfig> = {};
  let script = '';
  const foreign = { pg: `foreign_${process.pid}`, xa: `foreign-${process.pid}` };

  beforeAll(async () => {
    script = compileFixture('test/fixtures/cross-db-child.ts');
    const pgDbs = await postgres!.provision(1);
    const myDbs = await mariadb!.provision(1);
    const lite = await sqlite.provision(2);
    drops.push(pgDbs.drop, myDbs.drop, lite.drop);
    Object.assign(configs, { bank_a: pgDbs.configs[0]!, bank_m: myDbs.configs[0]!, bank_s: lite.configs[0]!, txlog: lite.configs[1]! });
    for (const [name, config] of Object.entries(configs)) ConnectionManager.configure(name, config);
    CrossDbTransaction.configure({ log: 'txlog', nodeId: 'crash-test' });
    // Someone else's in-doubt transactions: recovery must never touch them.
    const client = new pg.Client({ connectionString: (configs.bank_a as { url: string }).url });
    await client.connect();
    await client.query('BEGIN');
    await client.query(`PREPARE TRANSACTION '${foreign.pg}'`);
    await client.end();
    const my = await mysql.createConnection((configs.bank_m as { url: string }).url);
    await my.query(`XA START '${foreign.xa}'`);
    await my.query(`XA END '${foreign.xa}'`);
    await my.query(`XA PREPARE '${foreign.xa}'`);
    await my.end();
  });

  afterAll(async () => {
    const client = new pg.Client({ connectionString: (configs.bank_a as { url: string }).url });
    await client.connect();
    await client.query(`ROLLBACK PREPARED '${foreign.pg}'`).catch(() => undefined);
    await client.end();
    const my = await mysql.createConnection((configs.bank_m as { url: string }).url);
    await my.query(`XA ROLLBACK '${foreign.xa}'`).catch(() => undefined);
    await my.end();
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  });

  async function reset(): Promise<void> {
    for (const name of ['bank_a', 'bank_m', 'bank_s']) await createAccounts(ConnectionManager.get(name).knex);
  }

  async function assertAtomic(from: string, to: string, committed: boolean): Promise<void> {
    expect([await balanceOf(from), await balanceOf(to)]).toEqual(committed ? [990, 1010] : [1000, 1000]);
    for (const name of ['bank_a', 'bank_m']) {
      expect(await ourPreparedBranches(name, 'crash-test')).toEqual([]);
    }
    // Foreign in-doubt transactions are untouched.
    const pgGids = (await ConnectionManager.get('bank_a').knex.raw('select gid from pg_prepared_xacts')).rows.map((r: { gid: string }) => r.gid);
    expect(pgGids).toContain(foreign.pg);
    expect(await preparedBranches('bank_m')).toContain(`${foreign.xa}:`);
  }

  const matrix: Array<[string, string, string, boolean]> = [
    // [from, to, crash point, committed after recovery]
    ['bank_a', 'bank_m', 'before-prepare', false],
    ['bank_a', 'bank_m', 'after-prepare:0', false],
    ['bank_a', 'bank_m', 'after-prepare:1', false],
    ['bank_a', 'bank_m', 'after-prepares', false],
    ['bank_a', 'bank_m', 'after-decision', true],
    ['bank_a', 'bank_m', 'after-commit:0', true],
    ['bank_a', 'bank_m', 'after-commit:1', true],
    ['bank_a', 'bank_m', 'before-complete', true],
    ['bank_s', 'bank_m', 'after-prepares', false],
    ['bank_s', 'bank_m', 'before-last-resource-commit', false],
    ['bank_s', 'bank_m', 'after-last-resource-commit', true],
    ['bank_s', 'bank_a', 'after-decision', true],
    ['bank_s', 'bank_a', 'after-commit:1', true],
  ];

  for (const [from, to, point, committed] of matrix) {
    it(`${from} → ${to}: killed at ${point}, recovery ends ${committed ? 'committed' : 'rolled back'} on both sides`, async () => {
      await reset();
      expect(await runChild(script, { configs, from, to, mode: 'transfer' }, point)).toBe('killed');
      // A dead session's XA branch takes a moment to become recoverable from other sessions.
      await new Promise((r) => setTimeout(r, 200));
      await CrossDbTransaction.recover({ minAgeMs: 0 });
      await assertAtomic(from, to, committed);
      // Recovery again finds nothing left to do.
      const again = await CrossDbTransaction.recover({ minAgeMs: 0 });
      expect([...again.committed, ...again.rolledBack, ...again.unknown]).toEqual([]);
    });
  }

  for (const [point, recoveryCrash, committed] of [
    ['after-decision', 'recovery-after-branch', true],
    ['after-decision', 'recovery-after-decision', true],
    ['after-prepares', 'recovery-after-decision', false],
    ['after-prepares', 'recovery-after-branch', false],
  ] as const) {
    it(`killed at ${point}, then recovery killed at ${recoveryCrash}: recovery again ends ${committed ? 'committed' : 'rolled back'}`, async () => {
      await reset();
      expect(await runChild(script, { configs, from: 'bank_a', to: 'bank_m', mode: 'transfer' }, point)).toBe('killed');
      await new Promise((r) => setTimeout(r, 200));
      expect(await runChild(script, { configs, mode: 'recover' }, recoveryCrash)).toBe('killed');
      await new Promise((r) => setTimeout(r, 200));
      await CrossDbTransaction.recover({ minAgeMs: 0 });
      await assertAtomic('bank_a', 'bank_m', committed);
    });
  }

  it('recovery leaves young branches of a live transaction alone, and a live coordinator obeys an abort recovery recorded first', async () => {
    await reset();
    let resume!: () => void;
    const paused = new Promise<void>((r) => (resume = r));
    const running = CrossDbTransaction.run(async () => {
      await transfer('bank_a', 'bank_m', 10);
      await paused;
    });
    await new Promise((r) => setTimeout(r, 100));
    // Nothing is prepared yet, and default minAgeMs protects young branches anyway.
    const result = await CrossDbTransaction.recover();
    expect(result.rolledBack).toEqual([]);
    resume();
    await running;
    await assertAtomic('bank_a', 'bank_m', true);

    // Recovery's abort landing before the coordinator's commit decision: the coordinator obeys it.
    await reset();
    const log = new TableLog({ connection: 'txlog' });
    const error = await CrossDbTransaction.run(async (tx) => {
      await transfer('bank_a', 'bank_m', 10);
      await log.decide(tx.id, 'aborted', []);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    expect((error as Error).message).toMatch(/recovery recorded an abort/);
    await assertAtomic('bank_a', 'bank_m', false);
  });
});
