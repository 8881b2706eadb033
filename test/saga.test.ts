import { spawn } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConnectionManager,
  ensureSagaLogTable,
  SAGA_LOG_TABLE,
  Saga,
  SagaDefinitionError,
  SagaError,
  SagaSerializationError,
  TableSagaLog,
  TransactionError,
  type ConnectionConfig,
  type SagaRunRecord,
} from '../src/index.js';
import { runInFrame } from '../src/context/scope.js';
import { compileFixture } from './support/compile-fixture.js';
import { describeEachDialect } from './support/dialects.js';
import { createSagaTables, newProbe, SagaAccount, signupSaga, type SagaProbe } from './fixtures/saga-definition.js';

const FAST = { attempts: 3, baseMs: 5 };

// The saga's retry backoff sleeps through node:timers/promises: observe each wait it asks for
// (the sleep itself still happens), so a test checks the backoff by event, not by the clock.
const backoff = vi.hoisted(() => ({ onSleep: undefined as ((ms: number) => void) | undefined }));
vi.mock('node:timers/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:timers/promises')>();
  const setTimeout = ((delay?: number, ...rest: unknown[]) => {
    backoff.onSleep?.(delay ?? 0);
    return (actual.setTimeout as (delay?: number, ...rest: unknown[]) => Promise<unknown>)(delay, ...rest);
  }) as typeof actual.setTimeout;
  return { ...actual, default: { ...actual, setTimeout }, setTimeout };
});

let childScript: string | undefined;

/** Runs the signup saga in a child process and kills it with SIGKILL once it hangs. */
function crashChild(env: object): Promise<string> {
  childScript ??= compileFixture('test/fixtures/saga-child.ts');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript!], { env: { ...process.env, SAGA_CHILD: JSON.stringify(env) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('hanging')) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal === 'SIGKILL' && output.includes('hanging')) resolve(output);
      else reject(new Error(`saga child exited with ${code ?? signal} before hanging: ${output}`));
    });
  });
}

describe('saga definitions', () => {
  const noop = async () => undefined;

  it('rejects bad names, duplicate steps, bad functions and bad options with clear errors', () => {
    expect(() => new Saga('')).toThrow(SagaDefinitionError);
    expect(() => new Saga('s').step('a', noop).step('a', noop)).toThrow('a step named "a" is already defined');
    expect(() => new Saga('s').step('', noop)).toThrow('step 1 needs a non-empty string name');
    expect(() => new Saga('s').step('a', 'nope' as never)).toThrow('step "a" needs a function');
    expect(() => new Saga('s').step('a', noop, 42 as never)).toThrow('the undo must be a function');
    expect(() => new Saga('s', { retry: { attempts: 0 } })).toThrow('retry.attempts must be an integer of at least 1');
    expect(() => new Saga('s', { retry: { baseMs: -1 } })).toThrow('retry.baseMs');
    expect(() => new Saga('s', { retry: { tries: 3 } as never })).toThrow('unknown retry option "tries"');
    expect(() => new Saga('s', { onResume: 'retry' as never })).toThrow(`option "onResume" must be 'finish' or 'compensate'`);
    expect(() => new Saga('s', { log: 42 as never })).toThrow('option "log" must be a connection name or a SagaLog');
    expect(() => new Saga('s', { logs: 'primary' } as never)).toThrow('unknown option "logs"');
  });

  it('refuses to run without steps, and resume() without a log', async () => {
    await expect(new Saga('empty').run(undefined)).rejects.toThrow('the saga has no steps');
    await expect(new Saga('no-log').step('a', noop).resume()).rejects.toThrow('resume() needs a log');
  });

  it('refuses to run inside a cross-database transaction scope (its steps would be enlisted in it)', async () => {
    const saga = new Saga('nested').step('a', noop);
    await expect(runInFrame({ branches: { branch: () => undefined } }, () => saga.run(undefined))).rejects.toThrow('inside a cross-database transaction');
  });

  it('without a log: runs in memory, compensates in reverse order, no run id', async () => {
    const calls: string[] = [];
    const saga = new Saga<number>('memory')
      .step('a', (n) => n + 1, (r) => void calls.push(`undo a ${r}`))
      .step('b', (_n, { a }) => ({ at: new Date(a) }), (r) => void calls.push(`undo b ${r.at instanceof Date}`))
      .step('c', () => {
        throw new Error('c broke');
      });
    const error = (await saga.run(1).catch((e: unknown) => e)) as SagaError;
    expect(error).toBeInstanceOf(SagaError);
    expect(error).toMatchObject({ status: 'compensated', failedStep: 'c', runId: undefined, sagaName: 'memory' });
    expect((error.cause as Error).message).toBe('c broke');
    expect(calls).toEqual(['undo b true', 'undo a 2']);
    expect(await new Saga<number>('ok').step('x', (n) => n * 2).run(21)).toEqual({ x: 42 });
  });
});

describeEachDialect('sagas', (dialect) => {
  let drop: () => Promise<void>;
  let configs: ConnectionConfig[];
  const log = new TableSagaLog('primary');
  const primary = () => ConnectionManager.get('primary').knex;
  const secondary = () => ConnectionManager.get('secondary').knex;

  beforeAll(async () => {
    const provisioned = await dialect.provision(2);
    drop = provisioned.drop;
    configs = provisioned.configs;
    ConnectionManager.configure('primary', configs[0]!);
    ConnectionManager.configure('secondary', configs[1]!);
    await createSagaTables();
    await ensureSagaLogTable('primary');
    await ensureSagaLogTable('primary'); // idempotent
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });
  beforeEach(async () => {
    for (const table of ['saga_accounts', 'saga_mails', SAGA_LOG_TABLE]) await primary()(table).delete();
    await secondary()('saga_profiles').delete();
  });

  async function rows(): Promise<{ accounts: string[]; profiles: string[]; mails: string[] }> {
    const emails = async (query: Promise<Array<{ email: string }>>) => (await query).map((r) => r.email).sort();
    return {
      accounts: await emails(primary()('saga_accounts').select('email')),
      profiles: await emails(secondary()('saga_profiles').select('email')),
      mails: await emails(primary()('saga_mails').select('email')),
    };
  }
  const none = { accounts: [], profiles: [], mails: [] };

  async function onlyRun(): Promise<SagaRunRecord> {
    const all = await primary()(SAGA_LOG_TABLE).select('run_id');
    expect(all).toHaveLength(1);
    return (await log.get(String(all[0]!.run_id)))!;
  }

  it('completes every step on both connections and records the run as completed', async () => {
    const probe = newProbe();
    const results = await signupSaga({ log: 'primary' }, probe).run({ email: 'ok@x.io' });
    const account = await SagaAccount.where({ email: 'ok@x.io' }).first();
    expect(results).toEqual({ account: { id: account!.id }, profile: { email: 'ok@x.io', account: account!.id }, mail: { queued: 'ok@x.io' } });
    expect(await rows()).toEqual({ accounts: ['ok@x.io'], profiles: ['ok@x.io'], mails: ['ok@x.io'] });
    expect(probe.calls).toEqual(['do:account', 'do:profile', 'do:mail']);
    const record = await onlyRun();
    expect([...probe.runIds]).toEqual([record.runId]);
    expect(record).toMatchObject({ sagaName: 'signup', status: 'completed', input: { email: 'ok@x.io' }, results, currentStep: null, error: null, owner: { pid: process.pid } });
    expect(record.createdAt).toBeInstanceOf(Date);
    expect(await log.unfinished('signup')).toEqual([]);
  });

  const steps = ['account', 'profile', 'mail'];
  for (const [index, failAt] of steps.entries()) {
    it(`a failure at step ${index + 1} (${failAt}) undoes exactly the completed steps, last first`, async () => {
      const probe = newProbe();
      const error = (await signupSaga({ log: 'primary', retry: FAST }, probe)
        .run({ email: 'f@x.io', failAt })
        .catch((e: unknown) => e)) as SagaError;
      expect(error).toBeInstanceOf(SagaError);
      expect(error).toMatchObject({ status: 'compensated', sagaName: 'signup', failedStep: failAt, undoStep: undefined });
      expect((error.cause as Error).message).toBe(`step ${failAt} failed on purpose`);
      const completed = steps.slice(0, index);
      expect(probe.calls).toEqual([...steps.slice(0, index + 1).map((s) => `do:${s}`), ...completed.reverse().map((s) => `undo:${s}`)]);
      expect(await rows()).toEqual(none);
      const record = await onlyRun();
      expect(error.runId).toBe(record.runId);
      expect(record).toMatchObject({ status: 'compensated', results: {}, currentStep: null });
      expect(record.error).toContain(`step ${failAt} failed on purpose`);
    });
  }

  it('retries an undo that fails twice, with backoff, and ends compensated', async () => {
    const probe = newProbe();
    probe.undoFailures.profile = 2;
    backoff.onSleep = (ms) => probe.calls.push(`wait:${ms}`);
    const error = (await signupSaga({ log: 'primary', retry: { attempts: 3, baseMs: 20 } }, probe)
      .run({ email: 'r@x.io', failAt: 'mail' })
      .catch((e: unknown) => e)) as SagaError;
    backoff.onSleep = undefined;
    expect(error).toMatchObject({ status: 'compensated', failedStep: 'mail' });
    // Each retry of the undo waits first: baseMs, then twice that.
    expect(probe.calls).toEqual(['do:account', 'do:profile', 'do:mail', 'undo:profile', 'wait:20', 'undo:profile', 'wait:40', 'undo:profile', 'undo:account']);
    expect(await rows()).toEqual(none);
    expect((await onlyRun()).status).toBe('compensated');
  });

  it('an undo that always fails ends the saga failed, recorded for resume(), which compensates it once the undo works', async () => {
    const probe = newProbe();
    probe.undoFailures.profile = Infinity;
    const saga = signupSaga({ log: 'primary', retry: FAST }, probe);
    const error = (await saga.run({ email: 'u@x.io', failAt: 'mail' }).catch((e: unknown) => e)) as SagaError;
    expect(error).toBeInstanceOf(SagaError);
    expect(error).toMatchObject({ status: 'failed', failedStep: 'mail', undoStep: 'profile' });
    expect((error.cause as Error).message).toBe('undo of profile failed on purpose');
    expect((error.stepError as Error).message).toBe('step mail failed on purpose');
    expect(error.message).toContain('resume()');
    expect(probe.calls).toEqual(['do:account', 'do:profile', 'do:mail', 'undo:profile', 'undo:profile', 'undo:profile']);
    expect(await rows()).toEqual({ accounts: ['u@x.io'], profiles: ['u@x.io'], mails: [] });
    const [stuck, ...others] = await log.unfinished('signup');
    expect(others).toEqual([]);
    expect(stuck).toMatchObject({ runId: error.runId, status: 'failed', currentStep: 'profile' });
    expect(Object.keys(stuck!.results)).toEqual(['account', 'profile']);
    expect(stuck!.error).toContain('undo of profile failed on purpose');

    // Still failing: resume() leaves it failed.
    probe.calls.length = 0;
    expect(await saga.resume()).toEqual({ completed: [], compensated: [], failed: [error.runId], skipped: [] });
    expect((await log.get(error.runId!))!.status).toBe('failed');

    probe.undoFailures.profile = 0;
    probe.calls.length = 0;
    expect(await saga.resume()).toEqual({ completed: [], compensated: [error.runId], failed: [], skipped: [] });
    expect(probe.calls).toEqual(['undo:profile', 'undo:account']);
    expect(await rows()).toEqual(none);
    expect((await log.get(error.runId!))!.status).toBe('compensated');
  });

  it('a result that is not JSON data is undone from memory, and the saga rejects naming the value', async () => {
    const undone: unknown[] = [];
    const saga = new Saga<{ email: string }>('dates', { log: 'primary', retry: FAST }).step(
      'account',
      async ({ email }) => ({ account: await SagaAccount.create({ email }), at: new Date() }),
      async ({ account, at }) => {
        undone.push(at);
        await account.destroy();
      },
    );
    const error = (await saga.run({ email: 'd@x.io' }).catch((e: unknown) => e)) as SagaError;
    expect(error).toMatchObject({ status: 'compensated', failedStep: 'account' });
    expect(error.cause).toBeInstanceOf(SagaSerializationError);
    expect((error.cause as SagaSerializationError).path).toBe('result.account');
    expect((error.cause as Error).message).toContain('an instance of SagaAccount');
    expect(undone[0]).toBeInstanceOf(Date);
    expect(await rows()).toEqual(none);
    expect((await onlyRun()).status).toBe('compensated');

    await expect(signupSaga({ log: 'primary' }).run({ email: 'x', when: new Date() } as never)).rejects.toThrow('input.when is a Date');
    await expect(signupSaga({ log: 'primary' }).run({ email: 'x', n: 10n } as never)).rejects.toBeInstanceOf(SagaSerializationError);
    expect(await primary()(SAGA_LOG_TABLE).count({ n: '*' }).then((r) => Number(r[0]!.n))).toBe(1);
  });

  it('refuses to run inside a transaction', async () => {
    await expect(ConnectionManager.transaction('secondary', () => signupSaga({ log: 'primary' }).run({ email: 't@x.io' }))).rejects.toBeInstanceOf(TransactionError);
    expect(await rows()).toEqual(none);
  });

  it('resume() leaves alone a run this process is working on, and runs of other hosts unless stale', async () => {
    let release!: () => void;
    let reached!: () => void;
    const hanging = new Promise<void>((resolve) => (reached = resolve));
    const probe = newProbe();
    probe.hang = { step: 'profile', reached, until: new Promise<void>((resolve) => (release = resolve)) };
    const saga = signupSaga({ log: 'primary' }, probe);
    const running = saga.run({ email: 'live@x.io' });
    await hanging;
    const live = await onlyRun();
    expect(live).toMatchObject({ status: 'running', currentStep: 'profile' });
    expect(await signupSaga({ log: 'primary' }).resume()).toEqual({ completed: [], compensated: [], failed: [], skipped: [live.runId] });
    release();
    await running;
    expect((await log.get(live.runId))!.status).toBe('completed');

    // A run owned by a process of another host: not checkable, so only taken over when stale.
    const account = await SagaAccount.create({ email: 'far@x.io' });
    const now = new Date(Date.now() - 60_000);
    await log.create({ runId: 'far-away-run', sagaName: 'signup', status: 'running', input: { email: 'far@x.io' }, results: { account: { id: account.id } }, currentStep: 'profile', error: null, owner: { host: 'elsewhere.invalid', pid: 1 }, createdAt: now, updatedAt: now });
    const resumer = signupSaga({ log: 'primary' });
    expect(await resumer.resume()).toMatchObject({ compensated: [], skipped: ['far-away-run'] });
    expect(await resumer.resume({ staleMs: 120_000 })).toMatchObject({ compensated: [], skipped: ['far-away-run'] });
    expect(await resumer.resume({ staleMs: 30_000 })).toEqual({ completed: [], compensated: ['far-away-run'], failed: [], skipped: [] });
    expect(await SagaAccount.where({ email: 'far@x.io' }).count()).toBe(0);
  });

  for (const onResume of ['compensate', 'finish'] as const) {
    it(`after a crash in step 2, resume() with onResume '${onResume}' ${onResume === 'compensate' ? 'undoes step 1' : 'runs the remaining steps'}`, async () => {
      await crashChild({ primary: configs[0], secondary: configs[1], mode: 'hang-step', input: { email: 'crash@x.io' } });
      expect(await rows()).toEqual({ accounts: ['crash@x.io'], profiles: [], mails: [] });
      const [cut] = await log.unfinished('signup');
      expect(cut).toMatchObject({ status: 'running', currentStep: 'profile', input: { email: 'crash@x.io' } });
      expect(Object.keys(cut!.results)).toEqual(['account']);
      expect(cut!.owner.pid).not.toBe(process.pid);

      const probe = newProbe();
      const summary = await signupSaga({ log: 'primary', onResume, retry: FAST }, probe).resume();
      if (onResume === 'compensate') {
        expect(summary).toEqual({ completed: [], compensated: [cut!.runId], failed: [], skipped: [] });
        expect(probe.calls).toEqual(['undo:account']);
        expect(await rows()).toEqual(none);
        expect(await log.get(cut!.runId)).toMatchObject({ status: 'compensated', results: {}, owner: { pid: process.pid } });
      } else {
        expect(summary).toEqual({ completed: [cut!.runId], compensated: [], failed: [], skipped: [] });
        expect(probe.calls).toEqual(['do:profile', 'do:mail']);
        expect(await rows()).toEqual({ accounts: ['crash@x.io'], profiles: ['crash@x.io'], mails: ['crash@x.io'] });
        const record = await log.get(cut!.runId);
        expect(record).toMatchObject({ status: 'completed', currentStep: null });
        expect(Object.keys(record!.results)).toEqual(['account', 'profile', 'mail']);
      }
      expect(await log.unfinished('signup')).toEqual([]);
    });
  }

  it('after a crash during compensation, resume() finishes compensating (two resumers at once: each undo runs once)', async () => {
    await crashChild({ primary: configs[0], secondary: configs[1], mode: 'hang-undo', input: { email: 'comp@x.io', failAt: 'mail' } });
    expect(await rows()).toEqual({ accounts: ['comp@x.io'], profiles: ['comp@x.io'], mails: [] });
    const [cut] = await log.unfinished('signup');
    expect(cut).toMatchObject({ status: 'compensating', currentStep: 'profile' });
    expect(cut!.error).toContain('step mail failed on purpose');

    const probes: SagaProbe[] = [newProbe(), newProbe()];
    const summaries = await Promise.all(probes.map((probe) => signupSaga({ log: 'primary', onResume: 'finish' }, probe).resume()));
    expect(summaries.flatMap((s) => s.compensated)).toEqual([cut!.runId]);
    expect(summaries.flatMap((s) => [...s.completed, ...s.failed])).toEqual([]);
    expect(probes.flatMap((p) => p.calls)).toEqual(['undo:profile', 'undo:account']);
    expect(await rows()).toEqual(none);
    expect(await log.get(cut!.runId)).toMatchObject({ status: 'compensated', results: {}, currentStep: null });
  });
});
