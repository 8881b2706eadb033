import { execSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionManager, CrossDbTransaction, type ConnectionConfig } from '../src/index.js';
import { balanceOf, createAccounts } from './support/accounts.js';
import { compileFixture } from './support/compile-fixture.js';
import { DIALECTS } from './support/dialects.js';
import { ourPreparedBranches } from './support/prepared.js';
import { runNodeId } from './support/two-phase.js';

const postgres = DIALECTS.find((d) => d.driver === 'postgresql');
const sqlite = DIALECTS.find((d) => d.driver === 'sqlite')!;
// The command that restarts the PostgreSQL server (.ci/run sets it); without it this suite is skipped.
const restart = process.env.POLYRECORD_PG_RESTART;
const needs = [...(postgres ? [] : ['POLYRECORD_PG_URL']), ...(restart ? [] : ['POLYRECORD_PG_RESTART'])];

describe.skipIf(needs.length > 0)(`a PostgreSQL restart between prepare and commit${needs.length > 0 ? ` (needs ${needs.join(' and ')})` : ''}`, () => {
  const nodeId = runNodeId('restart');
  const drops: Array<() => Promise<void>> = [];
  const configs: Record<string, ConnectionConfig> = {};
  beforeAll(async () => {
    const pg = await postgres!.provision(2);
    const lite = await sqlite.provision(1);
    drops.push(pg.drop, lite.drop);
    Object.assign(configs, { bank_a: pg.configs[0]!, bank_b: pg.configs[1]!, txlog: lite.configs[0]! });
    for (const [name, config] of Object.entries(configs)) ConnectionManager.configure(name, config);
    CrossDbTransaction.configure({ log: 'txlog', nodeId });
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  });

  it('still ends committed on both databases after recovery', async () => {
    for (const name of ['bank_a', 'bank_b']) await createAccounts(ConnectionManager.get(name).knex);
    const script = compileFixture('test/fixtures/cross-db-child.ts');
    const outcome = await new Promise<string | null>((resolve) => {
      const child = spawn(process.execPath, [script], {
        env: { ...process.env, CROSS_CHILD: JSON.stringify({ configs, from: 'bank_a', to: 'bank_b', mode: 'transfer', nodeId }), POLYRECORD_TEST_CRASH_AT: 'after-decision' },
        stdio: 'ignore',
      });
      child.on('exit', (_code, signal) => resolve(signal));
    });
    expect(outcome).toBe('SIGKILL');
    // The coordinator died after its decision, with both branches prepared; now the server restarts.
    execSync(restart!, { stdio: 'pipe', timeout: 60_000 });
    for (const name of Object.keys(configs)) {
      await ConnectionManager.remove(name);
      ConnectionManager.configure(name, configs[name]!);
    }
    for (let i = 0; i < 60; i++) {
      const report = await ConnectionManager.health('bank_a');
      if (report.ok) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(await ourPreparedBranches('bank_a', nodeId)).toHaveLength(1);
    const result = await CrossDbTransaction.recover({ minAgeMs: 0, nodeId });
    expect(result.committed).toHaveLength(2);
    expect([await balanceOf('bank_a'), await balanceOf('bank_b')]).toEqual([990, 1010]);
    expect(await ourPreparedBranches('bank_a', nodeId)).toEqual([]);
    expect(await ourPreparedBranches('bank_b', nodeId)).toEqual([]);
  }, 120_000);
});
