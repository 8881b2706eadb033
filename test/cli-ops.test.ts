import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, ensureOutboxTable, Model, Outbox, OUTBOX_TABLE, PrimaryKey, type ConnectionConfig, type DeadEvent, type InDoubtReport, type OutboxStats, type RecoveryResult, type SagaRunRecord } from '../src/index.js';
import { shipSaga } from './fixtures/cli-ops-saga.js';
import { balanceOf, createAccounts } from './support/accounts.js';
import { polyrecord, startPolyrecord } from './support/cli.js';
import { compileFixture } from './support/compile-fixture.js';
import { describeEachDialect } from './support/dialects.js';
import { describeEachServerPair } from './support/server-pairs.js';
import { provisionBanks, rollBackLeftovers, runNodeId, sessionsOn, waitForNewSessionsToEnd } from './support/two-phase.js';
import { waitFor } from './support/wait.js';

const root = resolve(import.meta.dirname, '..');
const SRC = JSON.stringify(join(root, 'src/index.ts'));

@Outbox()
@Model({ connection: 'shop', table: 'cliops_parcels' })
class CliParcel extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) label!: string;
}

/** Runs the command and parses its JSON output; the exit code must be 0. */
function json<T>(dir: string, ...args: string[]): T {
  const result = polyrecord(dir, ...args, '--json');
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/**
 * A project whose relay delivers CliParcel events into `cliops_deliveries`. Its handler fails
 * for labels starting with "bad" while the file `carrier-down` exists, and holds the label
 * "slow" until the file `go` exists (writing `slow-started` first).
 */
function writeShopProject(dir: string, shop: ConnectionConfig): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'polyrecord.config.ts'),
    `import { existsSync, writeFileSync } from 'node:fs'
import { ConnectionManager, defineConfig } from ${SRC}
import { shipSaga } from ${JSON.stringify(join(root, 'test/fixtures/cli-ops-saga.ts'))}

const file = (name: string) => ${JSON.stringify(dir)} + '/' + name
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export default defineConfig({
  connections: { shop: ${JSON.stringify(shop)} },
  relays: [{
    connection: 'shop', maxAttempts: 1, concurrency: 1, batchSize: 100, pollIntervalMs: 20,
    handlers: {
      CliParcel: async (event) => {
        const { label } = event.payload as { label: string }
        if (label.startsWith('bad') && existsSync(file('carrier-down'))) throw new Error('carrier down')
        if (label === 'slow') {
          writeFileSync(file('slow-started'), '')
          while (!existsSync(file('go'))) await sleep(10)
        }
        await ConnectionManager.get('shop').knex('cliops_deliveries').insert({ event_id: Number(event.id), label })
      },
    },
  }],
  sagas: { 'cli-ops-ship': shipSaga },
})
`,
  );
}

describeEachDialect('polyrecord outbox and saga commands', (dialect) => {
  const dir = mkdtempSync(join(tmpdir(), `polyrecord-cli-ops-${dialect.driver}-`));
  let drop: () => Promise<void>;
  const shop = () => ConnectionManager.get('shop').knex;
  const deliveries = async () => (await shop()('cliops_deliveries').orderBy('event_id').select('label')).map((r) => r.label as string);

  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('shop', provisioned.configs[0]!);
    await shop().schema.createTable('cliops_parcels', (t) => {
      t.increments('id');
      t.string('label', 64);
    });
    await shop().schema.createTable('cliops_deliveries', (t) => {
      t.bigInteger('event_id');
      t.string('label', 64);
    });
    await ensureOutboxTable('shop');
    writeShopProject(dir, provisioned.configs[0]!);
  });
  afterAll(async () => {
    await ConnectionManager.remove('shop');
    await drop();
  });

  /** Starts `outbox relay`, resolved once it says it runs. */
  async function startRelay() {
    const child = startPolyrecord(dir, 'outbox', 'relay');
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const exited = once(child, 'exit') as Promise<[number | null]>;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        stdout += String(chunk);
        if (stdout.includes('relaying')) resolve();
      });
      void exited.then(() => reject(new Error(`outbox relay exited: ${stderr}`)));
    });
    return {
      /** Sends SIGINT, runs `thenDo` once the command has taken the signal, and resolves with the exit code and what it printed. */
      async interrupt(thenDo?: () => void) {
        child.kill('SIGINT');
        await waitFor(() => stderr.includes('SIGINT, stopping'), 'the relay to take the signal');
        thenDo?.();
        const [code] = await exited;
        return { code, stdout, stderr };
      },
    };
  }

  it('outbox relay stops on SIGINT after the delivery under way, handing back the rest of its claim; stats, dead and retry then deliver the dead event', async () => {
    writeFileSync(join(dir, 'carrier-down'), '');
    await CliParcel.create({ label: 'slow' });
    for (let i = 1; i <= 5; i++) await CliParcel.create({ label: `good-${i}` });
    await CliParcel.create({ label: 'bad-1' });

    // First run: stopped while "slow" is being delivered; the other six events were claimed with it.
    const first = await startRelay();
    await waitFor(() => existsSync(join(dir, 'slow-started')), 'the slow delivery to start');
    // "slow" is let go only once the relay is stopping: it must finish that delivery and start no other.
    const stopped = await first.interrupt(() => writeFileSync(join(dir, 'go'), ''));
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain('stopped: delivered 1, failed 0, dead 0');
    expect(await deliveries()).toEqual(['slow']);
    const handedBack = await shop()(OUTBOX_TABLE).where({ status: 'pending' }).select('locked_until', 'attempts');
    expect(handedBack).toHaveLength(6);
    expect(handedBack.every((row) => row.locked_until === null && Number(row.attempts) === 0)).toBe(true);

    // Second run: delivers the good ones; "bad-1" dies at its only attempt.
    const second = await startRelay();
    await waitFor(async () => (await shop()(OUTBOX_TABLE).where({ status: 'pending' })).length === 0, 'the outbox to drain');
    const drained = await second.interrupt();
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stderr).toContain('dead: CliParcel');
    expect(await deliveries()).toEqual(['slow', 'good-1', 'good-2', 'good-3', 'good-4', 'good-5']);

    const stats = json<OutboxStats[]>(dir, 'outbox', 'stats');
    expect(stats).toEqual([{ connection: 'shop', models: [{ model: 'CliParcel', pending: 0, inFlight: 0, dead: 1, oldestPendingAt: null, oldestPendingAgeMs: null }] }]);
    expect(polyrecord(dir, 'outbox', 'stats').stdout).toMatch(/shop\s*│\s*CliParcel\s*│\s*0\s*│\s*0\s*│\s*1\s*│/);

    const dead = json<DeadEvent[]>(dir, 'outbox', 'dead');
    expect(dead).toEqual([{ connection: 'shop', id: expect.any(String), model: 'CliParcel', key: expect.any(String), type: 'created', attempts: 1, lastError: 'Error: carrier down', createdAt: expect.any(String) }]);
    expect(polyrecord(dir, 'outbox', 'dead').stdout).toContain('Error: carrier down');
    expect(json<DeadEvent[]>(dir, 'outbox', 'dead', '--model', 'Nope')).toEqual([]);

    // Wrong uses exit 2 and change nothing.
    for (const args of [[], [dead[0]!.id, '--all-dead'], ['12x']]) {
      const wrong = polyrecord(dir, 'outbox', 'retry', ...args);
      expect(wrong.code, wrong.stderr).toBe(2);
    }
    expect(json<DeadEvent[]>(dir, 'outbox', 'dead')).toHaveLength(1);

    rmSync(join(dir, 'carrier-down'));
    const retried = polyrecord(dir, 'outbox', 'retry', dead[0]!.id);
    expect(retried, retried.stderr).toMatchObject({ code: 0, stdout: 'retried 1 dead event\n' });
    expect(json<OutboxStats[]>(dir, 'outbox', 'stats')[0]!.models).toEqual([{ model: 'CliParcel', pending: 1, inFlight: 0, dead: 0, oldestPendingAt: expect.any(String), oldestPendingAgeMs: expect.any(Number) }]);
    const third = await startRelay();
    await waitFor(async () => (await deliveries()).includes('bad-1'), 'the retried event to be delivered');
    expect((await third.interrupt()).code).toBe(0);
    expect(json<OutboxStats[]>(dir, 'outbox', 'stats')).toEqual([{ connection: 'shop', models: [] }]);
    expect(json<DeadEvent[]>(dir, 'outbox', 'dead')).toEqual([]);
    // An id that is no dead event (any more) is a failure: exit 1.
    expect(polyrecord(dir, 'outbox', 'retry', dead[0]!.id).code).toBe(1);
  }, 240_000);

  it('saga list shows the runs by status (table and JSON); saga resume compensates a failed run; an unknown saga exits 2 naming the known ones', async () => {
    const undoBlockedBy = join(dir, 'undo-blocked');
    writeFileSync(undoBlockedBy, '');
    await shipSaga.run({ label: 'ok', undoBlockedBy });
    await expect(shipSaga.run({ label: 'ko', fail: true, undoBlockedBy })).rejects.toThrow('compensation could not finish');

    const runs = json<SagaRunRecord[]>(dir, 'saga', 'list');
    expect(runs.map((r) => [r.sagaName, r.status, (r.input as { label: string }).label])).toEqual([
      ['cli-ops-ship', 'failed', 'ko'],
      ['cli-ops-ship', 'completed', 'ok'],
    ]);
    const failed = runs[0]!;
    expect(json<SagaRunRecord[]>(dir, 'saga', 'list', '--status', 'failed').map((r) => r.runId)).toEqual([failed.runId]);
    const listed = polyrecord(dir, 'saga', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`cli-ops-ship\\s*│\\s*${failed.runId}\\s*│\\s*failed\\s*│\\s*reserve`));
    expect(polyrecord(dir, 'saga', 'list', '--status', 'stuck').code).toBe(2);

    const unknown = polyrecord(dir, 'saga', 'resume', 'cli-ops-shop');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('polyrecord: no saga named "cli-ops-shop" in the config\'s sagas; known: "cli-ops-ship"\n');

    // Still blocked: the run stays failed, exit 1.
    const blocked = polyrecord(dir, 'saga', 'resume', 'cli-ops-ship');
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toContain(`failed: ${failed.runId}`);
    rmSync(undoBlockedBy);
    expect(json(dir, 'saga', 'resume', 'cli-ops-ship')).toEqual({ completed: [], compensated: [failed.runId], failed: [], skipped: [] });
    expect(json<SagaRunRecord[]>(dir, 'saga', 'list', '--status', 'failed')).toEqual([]);
  }, 240_000);
});

// The coordinator child of test/cross-db-crash.test.ts, compiled once.
let compiled: string | undefined;
const childScript = () => (compiled ??= compileFixture('test/fixtures/cross-db-child.ts'));

describeEachServerPair(
  'polyrecord tx in-doubt and tx recover after a coordinator killed between prepare and commit',
  (pair) => {
    const nodeId = runNodeId(`cliops-${pair.key}`);
    const dir = mkdtempSync(join(tmpdir(), 'polyrecord-cli-tx-'));
    const configs: Record<string, ConnectionConfig> = {};
    let drop: () => Promise<void>;

    beforeAll(async () => {
      const banks = await provisionBanks(pair, nodeId);
      drop = banks.drop;
      Object.assign(configs, banks.configs);
      writeFileSync(
        join(dir, 'polyrecord.config.ts'),
        `import { defineConfig } from ${SRC}\n\nexport default defineConfig({\n  connections: ${JSON.stringify(configs)},\n  coordinator: { log: { connection: 'txlog' }, nodeId: ${JSON.stringify(nodeId)} },\n})\n`,
      );
    }, 240_000);
    afterAll(async () => {
      await rollBackLeftovers(['bank_l', 'bank_r'], nodeId);
      await ConnectionManager.closeAll();
      await drop();
    });

    /** Runs a transfer bank_l → bank_r in a child killed with SIGKILL at `crashAt`, and waits until the servers have ended its sessions. */
    async function killedTransfer(crashAt: string): Promise<void> {
      for (const name of ['bank_l', 'bank_r']) await createAccounts(ConnectionManager.get(name).knex);
      const before = new Map<string, Set<string>>();
      for (const name of ['bank_l', 'bank_r']) before.set(name, await sessionsOn(name));
      const child = spawn(process.execPath, [childScript()], {
        env: { ...process.env, CROSS_CHILD: JSON.stringify({ configs, from: 'bank_l', to: 'bank_r', mode: 'transfer', nodeId }), POLYRECORD_TEST_CRASH_AT: crashAt },
        stdio: 'ignore',
      });
      const [, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      expect(signal).toBe('SIGKILL');
      for (const name of ['bank_l', 'bank_r']) await waitForNewSessionsToEnd(name, before.get(name)!);
    }

    const ours = (report: InDoubtReport) => report.branches.filter((b) => b.node === nodeId).sort((a, b) => a.connection.localeCompare(b.connection));

    for (const [crashAt, decision, outcome] of [
      ['after-decision', 'commit', 'committed'],
      ['after-prepares', null, 'rolledBack'],
    ] as const) {
      it(`killed at ${crashAt}: tx in-doubt shows both branches with decision ${decision ?? 'none'}; tx recover ${outcome === 'committed' ? 'commits' : 'rolls back'} them`, async () => {
        await killedTransfer(crashAt);

        const report = json<InDoubtReport>(dir, 'tx', 'in-doubt');
        expect(report.unreachable).toEqual([]);
        const branches = ours(report);
        expect(branches.map((b) => [b.connection, b.ours, b.thisNode, b.decision, b.decisionIn])).toEqual([
          ['bank_l', true, true, decision, 'log'],
          ['bank_r', true, true, decision, 'log'],
        ]);
        expect(new Set(branches.map((b) => b.transactionId)).size).toBe(1);
        expect(branches.every((b) => b.gid.startsWith(`polyrec:${nodeId}:`) && typeof b.ageMs === 'number')).toBe(true);
        const table = polyrecord(dir, 'tx', 'in-doubt');
        expect(table.code, table.stderr).toBe(0);
        expect(table.stdout).toMatch(new RegExp(`bank_r\\s*│\\s*${branches[1]!.gid}\\s*│\\s*polyrecord\\s*│\\s*${nodeId} \\(this node\\)`));

        // Young branches (here: younger than ten minutes) are left alone.
        expect(json<RecoveryResult>(dir, 'tx', 'recover', '--min-age', '600000')).toEqual({ committed: [], rolledBack: [], unknown: [] });
        expect(polyrecord(dir, 'tx', 'recover', '--min-age', 'soon').code).toBe(2);

        const result = json<RecoveryResult>(dir, 'tx', 'recover', '--min-age', '0');
        expect(result.unknown).toEqual([]);
        expect(result[outcome].map((b) => b.connection).sort()).toEqual(['bank_l', 'bank_r']);
        expect(ours(json<InDoubtReport>(dir, 'tx', 'in-doubt'))).toEqual([]);
        expect([await balanceOf('bank_l'), await balanceOf('bank_r')]).toEqual(outcome === 'committed' ? [990, 1010] : [1000, 1000]);
      }, 240_000);
    }
  },
  ['pg-maria'],
);
