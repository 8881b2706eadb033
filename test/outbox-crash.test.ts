import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectionManager, OutboxRelay, OUTBOX_TABLE, type ConnectionConfig } from '../src/index.js';
import { compileFixture } from './support/compile-fixture.js';
import { describeEachDialect } from './support/dialects.js';
import { Member, setUpMemberPair } from './support/sync-models.js';
import { waitFor } from './support/wait.js';

/**
 * Runs the relay child. With `killWhen`, polls it once the child says "ready" and SIGKILLs
 * the child as soon as it holds (a state of the databases, not a delay).
 */
function runChild(script: string, env: object, mode: 'forever' | 'drain', killWhen?: () => Promise<boolean>): Promise<{ killed: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { ...process.env, RELAY_CHILD: JSON.stringify({ ...env, mode }) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let exited = false;
    let watching = false;
    let killed = false;
    // Only against a hung child: a test failure, never a kill the test counts.
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const watch = async () => {
      while (!exited) {
        if (await killWhen!()) {
          killed = true;
          child.kill('SIGKILL');
          return;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (killWhen !== undefined && !watching && output.includes('ready')) {
        watching = true;
        watch().catch(reject);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      exited = true;
      clearTimeout(guard);
      if (signal === 'SIGKILL' && killed) resolve({ killed: true, output });
      else if (code === 0 && killWhen === undefined) resolve({ killed: false, output });
      else reject(new Error(`relay child exited with ${code ?? signal}: ${output}`));
    });
  });
}

describeEachDialect('outbox relay crash and concurrency', (dialect) => {
  let drop: () => Promise<void>;
  let configs: ConnectionConfig[];
  beforeAll(async () => {
    ({ drop, configs } = await setUpMemberPair(dialect));
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  /** Members with several updates each, some destroyed; the real-time copies are wiped so only the relay can rebuild them. */
  async function makeEvents(count: number): Promise<number> {
    for (const table of ['member_copies', 'deliveries']) await ConnectionManager.get('dst').knex(table).delete();
    for (const table of ['members', OUTBOX_TABLE]) await ConnectionManager.get('src').knex(table).delete();
    const members: Member[] = [];
    for (let i = 0; i < count; i++) members.push(await Member.create({ email: `m${i}@c.io`, visits: 0 }));
    for (let round = 1; round <= 3; round++) {
      for (const member of members) {
        member.visits = round;
        await member.save();
      }
    }
    for (const member of members.slice(0, Math.floor(count / 6))) await member.destroy();
    await ConnectionManager.get('dst').knex('member_copies').delete();
    return Number((await ConnectionManager.get('src').knex(OUTBOX_TABLE).count({ n: '*' }))[0]!.n);
  }

  async function assertConverged(events: number): Promise<void> {
    const src = ConnectionManager.get('src').knex;
    const dst = ConnectionManager.get('dst').knex;
    const statuses = (await src(OUTBOX_TABLE).select('status').count({ n: '*' }).groupBy('status')) as Array<{ status: string; n: number | string }>;
    expect(statuses.map((s) => [s.status, Number(s.n)])).toEqual([['done', events]]);
    const expected = (await src('members').orderBy('id').select('id', 'email', 'visits')).map((m) => ({ member_id: m.id, email: m.email, visits: m.visits }));
    expect(await dst('member_copies').orderBy('member_id').select('member_id', 'email', 'visits')).toEqual(expected);
    const log = await dst('deliveries').orderBy('id').select('event_id', 'member_key');
    expect(new Set(log.map((d) => Number(d.event_id))).size).toBe(events);
    const lastByKey = new Map<string, number>();
    for (const { event_id, member_key } of log) {
      const id = Number(event_id);
      // Redelivery repeats an event; it never goes back to an older one.
      expect(id, `event ${id} of member ${member_key} delivered after ${lastByKey.get(member_key)}`).toBeGreaterThanOrEqual(lastByKey.get(member_key) ?? 0);
      lastByKey.set(member_key, id);
    }
  }

  it('relays killed with SIGKILL mid-batch, many times, then a clean run: every event done once in order, target equals source', async () => {
    const script = compileFixture('test/fixtures/relay-child.ts');
    const events = await makeEvents(60);
    const src = ConnectionManager.get('src').knex;
    const deliveries = async () => Number((await ConnectionManager.get('dst').knex('deliveries').count({ n: '*' }))[0]!.n);
    for (let i = 0; i < 6; i++) {
      // Killed once it has delivered 1 to 25 events (batches of 20): mid-batch, in its first or second batch.
      // runChild rejects if the child ends any other way.
      const start = await deliveries();
      const target = start + 1 + Math.floor(Math.random() * 25);
      expect(await runChild(script, { src: configs[0], dst: configs[1] }, 'forever', async () => (await deliveries()) >= target)).toMatchObject({ killed: true });
    }
    // The kills left work undone for the clean run.
    const left = Number((await src(OUTBOX_TABLE).whereNot({ status: 'done' }).count({ n: '*' }))[0]!.n);
    expect(left).toBeGreaterThan(0);
    // Leases held by the killed relays expire; the clean run takes everything over.
    const leasedUntil = Number((await src(OUTBOX_TABLE).where({ status: 'pending' }).max({ t: 'locked_until' }))[0]!.t ?? 0);
    await waitFor(() => Date.now() > leasedUntil, "the killed relays' leases to expire");
    await runChild(script, { src: configs[0], dst: configs[1] }, 'drain');
    await assertConverged(events);
    // Events a killed relay had claimed but not finished were claimed again by another relay.
    const reclaimed = Number((await src(OUTBOX_TABLE).where('attempts', '>', 1).count({ n: '*' }))[0]!.n);
    expect(reclaimed).toBeGreaterThan(0);
  }, 120_000);

  for (const relays of [2, 4]) {
    it(`${relays} concurrent relays deliver every event exactly once in the normal case, in order per record`, async () => {
      const events = await makeEvents(40);
      const deliveries = new Map<string, number>();
      const handle = async (event: { id: string; key: string }) => {
        deliveries.set(event.id, (deliveries.get(event.id) ?? 0) + 1);
        await ConnectionManager.get('dst').knex('deliveries').insert({ event_id: Number(event.id), member_key: event.key });
      };
      const workers = Array.from({ length: relays }, () => new OutboxRelay({ connection: 'src', batchSize: 10, concurrency: 4, handlers: { Member: handle } }));
      await Promise.all(
        workers.map(async (relay) => {
          let idle = 0;
          while (idle < 3) {
            const result = await relay.runOnce();
            idle = result.delivered === 0 ? idle + 1 : 0;
          }
        }),
      );
      expect(deliveries.size).toBe(events);
      expect([...deliveries.values()].every((n) => n === 1)).toBe(true);
      const log = await ConnectionManager.get('dst').knex('deliveries').orderBy('id').select('event_id', 'member_key');
      const lastByKey = new Map<string, number>();
      for (const { event_id, member_key } of log) {
        expect(Number(event_id)).toBeGreaterThan(lastByKey.get(member_key) ?? 0);
        lastByKey.set(member_key, Number(event_id));
      }
    }, 60_000);
  }
});
