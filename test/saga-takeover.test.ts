import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ConnectionManager, ensureSagaLogTable, SAGA_LOG_TABLE, TableSagaLog, type ConnectionConfig } from '../src/index.js';
import { compileFixture } from './support/compile-fixture.js';
import { describeEachDialect } from './support/dialects.js';
import { createTakeoverTables, newTakeoverProbe, TAKEOVER_SAGA, takeoverMarks, takeoverSaga } from './support/takeover-saga.js';
import { deferred } from './support/wait.js';

// The child says it runs on this host name: the parent (on the real one) cannot check its
// process, so it takes the child's run over only with resume({ staleMs }).
const CHILD_HOST = 'far-host.invalid';

let childScript: string | undefined;

interface Child {
  readonly pid: number;
  /** Resolves with the run id once the child hangs in step `approve`. */
  readonly hanging: Promise<string>;
  /** Lets the child's step `approve` return. */
  release(): void;
  /** The child's one-line JSON report of how its run() / resume() ended. */
  readonly report: Promise<Record<string, unknown>>;
}

/** Starts test/support/saga-takeover-child.ts (see there). */
function startChild(env: { primary: ConnectionConfig; mode: 'run' | 'resume'; key?: string }): Child {
  childScript ??= compileFixture('test/support/saga-takeover-child.ts');
  const child = spawn(process.execPath, [childScript], { env: { ...process.env, SAGA_TAKEOVER_CHILD: JSON.stringify({ ...env, host: CHILD_HOST }) }, stdio: ['pipe', 'pipe', 'pipe'] });
  const hanging = deferred<string>();
  const report = deferred<Record<string, unknown>>();
  let output = '';
  // Only against a hung child: a test failure, never part of what a test checks.
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  createInterface({ input: child.stdout }).on('line', (line) => {
    output += `${line}\n`;
    if (line.startsWith('hanging ')) hanging.resolve(line.slice('hanging '.length));
    else if (line.startsWith('{')) report.resolve(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      reject(new Error(`saga child exited with ${code ?? signal}: ${output}`));
    }),
  );
  exited.catch(() => undefined);
  return {
    pid: child.pid!,
    hanging: Promise.race([hanging.promise, exited]),
    release: () => child.stdin.end('go\n'),
    report: Promise.race([report.promise, exited]),
  };
}

describeEachDialect('saga taken over by another process', (dialect) => {
  let drop: () => Promise<void>;
  let configs: ConnectionConfig[];
  const log = new TableSagaLog('primary');
  const me = { host: hostname(), pid: process.pid };

  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    configs = provisioned.configs;
    ConnectionManager.configure('primary', configs[0]!);
    await createTakeoverTables();
    await ensureSagaLogTable('primary');
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });
  beforeEach(async () => {
    for (const table of ['takeover_marks', SAGA_LOG_TABLE]) await ConnectionManager.get('primary').knex(table).delete();
  });

  it('run() rejects with SagaTakenOverError once another process has taken its run over, and touches nothing more', async () => {
    const child = startChild({ primary: configs[0]!, mode: 'run', key: 'run-1' });
    const runId = await child.hanging;
    expect(await log.get(runId)).toMatchObject({ sagaName: TAKEOVER_SAGA, status: 'running', currentStep: 'approve', results: { reserve: { key: 'run-1' } }, owner: { host: CHILD_HOST, pid: child.pid } });
    expect(await takeoverMarks()).toEqual(['run-1:reserve:child']);

    const probe = newTakeoverProbe('parent');
    const saga = takeoverSaga({ log: 'primary', onResume: 'compensate' }, probe);
    // Owned by a process of another host: left alone unless its record is older than staleMs.
    expect(await saga.resume()).toEqual({ completed: [], compensated: [], failed: [], skipped: [runId] });
    expect(await saga.resume({ staleMs: 0 })).toEqual({ completed: [], compensated: [runId], failed: [], skipped: [] });
    expect(probe.calls).toEqual(['undo:reserve']);
    expect(await takeoverMarks()).toEqual([]);

    // The child's step returns; recording it finds the run owned by this process.
    child.release();
    expect(await child.report).toEqual({
      outcome: 'rejected',
      name: 'SagaTakenOverError',
      code: 'E_SAGA_TAKEN_OVER',
      takenOver: true,
      sagaName: TAKEOVER_SAGA,
      runId,
      calls: ['do:reserve', 'do:approve'],
    });
    // It ran no later step and no undo, and left the log as the new owner wrote it.
    expect(await takeoverMarks()).toEqual([]);
    expect(await log.get(runId)).toMatchObject({ status: 'compensated', results: {}, currentStep: null, owner: me });
  });

  it('of two resumers of one run, the one whose claim was taken over stops and lists the run as skipped', async () => {
    // A run cut off after step reserve, by a process of a host nobody can check.
    const old = new Date(Date.now() - 60_000);
    await ConnectionManager.get('primary').knex('takeover_marks').insert({ run_key: 'res-1', step: 'reserve', by: 'crashed' });
    await log.create({ runId: 'cut-off-run', sagaName: TAKEOVER_SAGA, status: 'running', input: { key: 'res-1' }, results: { reserve: { key: 'res-1' } }, currentStep: 'approve', error: null, owner: { host: 'crashed-host.invalid', pid: 1 }, createdAt: old, updatedAt: old });

    // First resumer (the child, onResume 'finish'): claims the run and hangs in step approve.
    const child = startChild({ primary: configs[0]!, mode: 'resume' });
    expect(await child.hanging).toBe('cut-off-run');
    expect(await log.get('cut-off-run')).toMatchObject({ status: 'running', owner: { host: CHILD_HOST, pid: child.pid } });

    // Second resumer (this process, onResume 'compensate'): takes it over from the child once allowed to.
    const probe = newTakeoverProbe('parent');
    const saga = takeoverSaga({ log: 'primary', onResume: 'compensate' }, probe);
    expect(await saga.resume()).toEqual({ completed: [], compensated: [], failed: [], skipped: ['cut-off-run'] });
    expect(await saga.resume({ staleMs: 0 })).toEqual({ completed: [], compensated: ['cut-off-run'], failed: [], skipped: [] });
    expect(probe.calls).toEqual(['undo:reserve']);

    // The first resumer's resume() catches the SagaTakenOverError: the run is skipped, not finished.
    child.release();
    expect(await child.report).toEqual({ outcome: 'resolved', value: { completed: [], compensated: [], failed: [], skipped: ['cut-off-run'] }, calls: ['do:approve'] });
    expect(await takeoverMarks()).toEqual([]);
    expect(await log.get('cut-off-run')).toMatchObject({ status: 'compensated', results: {}, currentStep: null, owner: me });
    expect(await log.unfinished(TAKEOVER_SAGA)).toEqual([]);
  });
});
