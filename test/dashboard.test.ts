import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { get } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, ensureOutboxTable, Model, Outbox, OutboxRelay, PrimaryKey, SyncJob, UpdatedAt, type ConnectionConfig } from '../src/index.js';
import type { DashboardState } from '../src/dashboard/state.js';
import { balanceOf, createAccounts } from './support/accounts.js';
import { compileFixture } from './support/compile-fixture.js';
import { DIALECTS } from './support/dialects.js';
import { SERVER_PAIRS } from './support/server-pairs.js';
import { provisionBanks, rollBackLeftovers, runNodeId, sessionsOn, waitForNewSessionsToEnd } from './support/two-phase.js';
import { waitFor } from './support/wait.js';

const root = resolve(import.meta.dirname, '..');
const SRC = JSON.stringify(join(root, 'src/index.ts'));
// The launcher of test/support/cli.ts; spawned here directly to pass the environment.
const CLI = join(root, 'test/support/cli-entry.cjs');
const CHROMIUM = '/usr/bin/chromium';
// PostgreSQL and MariaDB, when both are configured: the in-doubt branches span them.
const pair = SERVER_PAIRS.find((p) => p.key === 'pg-maria');

@Outbox()
@Model({ connection: 'shop', table: 'dash_parcels' })
class DashParcel extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) label!: string;
  @UpdatedAt() updatedAt!: Date;
}

@Model({ connection: 'shop', table: 'dash_parcel_copies' })
class DashParcelCopy extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) parcelId!: number;
  @Column({ type: 'string' }) label!: string;
}

/** A `polyrecord dashboard` child, resolved once it says where it listens. */
async function startDashboard(dir: string, args: string[] = [], env: Record<string, string> = {}) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI, 'dashboard', '--port', '0', ...args], { cwd: dir, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
      const found = /dashboard on (http:\/\/\S+\/)/.exec(stdout);
      if (found) resolveUrl(found[1]!);
    });
    void exited.then(() => reject(new Error(`dashboard exited: ${stderr}`)));
  });
  return {
    url,
    output: () => stdout,
    /** Sends `signal` and resolves with the exit code and what it printed. */
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      child.kill(signal);
      const [code] = await exited;
      return { code, stdout, stderr };
    },
  };
}

type Dashboard = Awaited<ReturnType<typeof startDashboard>>;

/** Plain HTTP against a dashboard: the page's JSON API. */
async function call(url: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) {
  const response = await fetch(new URL(path, url), { method: init.method ?? 'GET', headers: init.headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const json = { 'content-type': 'application/json' };

describe('polyrecord dashboard in a browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'polyrecord-dashboard-'));
  const nodeId = runNodeId('dash');
  const configs: Record<string, ConnectionConfig> = {};
  const drops: (() => Promise<void>)[] = [];
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  let relay: OutboxRelay;
  // While true, the relay's handler fails for labels starting with "bad".
  let carrierDown = true;
  const shop = () => ConnectionManager.get('shop').knex;

  beforeAll(async () => {
    const lite = await DIALECTS.find((d) => d.driver === 'sqlite')!.provision(1);
    drops.push(lite.drop);
    configs.shop = lite.configs[0]!;
    ConnectionManager.configure('shop', configs.shop);
    await shop().schema.createTable('dash_parcels', (t) => {
      t.increments('id');
      t.string('label', 64);
      t.datetime('updated_at', { precision: 3 });
    });
    await shop().schema.createTable('dash_parcel_copies', (t) => {
      t.increments('id');
      t.integer('parcel_id').unique();
      t.string('label', 64);
    });
    await shop().schema.createTable('dash_deliveries', (t) => {
      t.bigInteger('event_id');
      t.string('label', 64);
    });
    await ensureOutboxTable('shop');
    if (pair) {
      const banks = await provisionBanks(pair, nodeId);
      drops.push(banks.drop);
      Object.assign(configs, banks.configs);
    }
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'polyrecord.config.ts'),
      `import { defineConfig } from ${SRC}\n\nexport default defineConfig({\n  connections: ${JSON.stringify(configs)},\n${pair ? `  coordinator: { log: { connection: 'txlog' }, nodeId: ${JSON.stringify(nodeId)} },\n` : ''}})\n`,
    );
    relay = new OutboxRelay({
      connection: 'shop',
      maxAttempts: 1,
      pollIntervalMs: 20,
      handlers: {
        DashParcel: async (event) => {
          const { label } = event.payload as { label: string };
          // Markup in an error message must show as text on the page.
          if (carrierDown && label.startsWith('bad')) throw new Error(`carrier down <b id="injected">${label}</b>`);
          await shop()('dash_deliveries').insert({ event_id: Number(event.id), label });
        },
      },
    });
    relay.start();
    dashboard = await startDashboard(dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  }, 240_000);

  afterAll(async () => {
    await relay?.stop();
    await browser?.close();
    if (dashboard) {
      // SIGINT closes the server and the connections, and the command ends by itself.
      const stopped = await dashboard.stop('SIGINT');
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(stopped.stdout).toContain('dashboard stopped');
    }
    if (pair) await rollBackLeftovers(['bank_l', 'bank_r'], nodeId);
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  }, 240_000);

  const delivered = async () => (await shop()('dash_deliveries').orderBy('event_id').select('label')).map((r) => r.label as string);

  /** Writes a parcel whose delivery fails once, and resolves with its dead event's row on the page. */
  async function deadParcel(label: string) {
    carrierDown = true;
    const parcel = await DashParcel.create({ label });
    const state = async () => (await call(dashboard.url, '/api/state')).body as unknown as DashboardState;
    let id = '';
    await waitFor(async () => {
      id = (await state()).deadEvents.find((e) => e.key === String(parcel.id))?.id ?? '';
      return id !== '';
    }, `the event of ${label} to die`, 60_000);
    const row = page.locator(`#dead tr[data-event="shop:${id}"]`);
    await row.waitFor({ timeout: 60_000 });
    return { id, row };
  }

  it('shows connections, the outbox backlog and sync jobs, and as JSON; a dead event appears with its last error (as text); Retry delivers it', async () => {
    await DashParcel.create({ label: 'good-1' });
    await new SyncJob({ name: 'dash-parcels', source: DashParcel, target: DashParcelCopy, map: (p: DashParcel) => ({ parcelId: p.id, label: p.label }), conflictKeys: ['parcelId'], watermark: 'updatedAt' }).run();
    await page.goto(dashboard.url);
    expect(await page.locator('h1').innerText()).toBe('polyrecord dashboard');

    const { id, row } = await deadParcel('bad-1');
    expect(await row.innerText()).toContain('carrier down <b id="injected">bad-1</b>');
    expect(await page.locator('#injected').count()).toBe(0);
    await page.locator('#outbox tr[data-model="shop:DashParcel"]').waitFor();
    expect(await page.locator('#connections tr[data-connection="shop"]').innerText()).toMatch(/shop\s+sqlite\s+up/);
    expect(await page.locator('#sync tr[data-job="dash-parcels"]').innerText()).toMatch(/dash-parcels\s+shop\s+\S+Z\s+1\s+1\s/);

    const state = (await call(dashboard.url, '/api/state')).body as unknown as DashboardState;
    expect(state.connections.find((c) => c.name === 'shop')).toMatchObject({ driver: 'sqlite', circuit: 'closed', health: { ok: true } });
    expect(state.outbox).toEqual([{ connection: 'shop', models: [{ model: 'DashParcel', pending: 0, inFlight: 0, dead: 1, oldestPendingAt: null, oldestPendingAgeMs: null }] }]);
    expect(state.deadEvents).toEqual([expect.objectContaining({ connection: 'shop', id, model: 'DashParcel', attempts: 1, lastError: 'Error: carrier down <b id="injected">bad-1</b>' })]);
    expect(state.syncJobs).toEqual([expect.objectContaining({ connection: 'shop', name: 'dash-parcels', rowsProcessed: 1, lastKey: 1 })]);
    expect(state.problems).toEqual([]);

    carrierDown = false;
    await row.locator('button', { hasText: 'Retry' }).click();
    await waitFor(async () => (await page.locator('#note').innerText()).includes('retried 1 dead event on shop'), 'the page to confirm the retry', 60_000);
    await row.waitFor({ state: 'detached', timeout: 60_000 });
    await waitFor(async () => (await delivered()).includes('bad-1'), 'the retried event to be delivered', 60_000);
    await page.locator('#outbox', { hasText: 'drained' }).waitFor({ timeout: 60_000 });
    expect((await call(dashboard.url, '/api/state')).body.deadEvents).toEqual([]);
  }, 240_000);

  it.skipIf(!pair)('shows the in-doubt branches a coordinator killed after its prepares left on PostgreSQL and MariaDB; Recover rolls them back', async () => {
    for (const name of ['bank_l', 'bank_r']) await createAccounts(ConnectionManager.get(name).knex);
    const before = new Map<string, Set<string>>();
    for (const name of ['bank_l', 'bank_r']) before.set(name, await sessionsOn(name));
    const child = spawn(process.execPath, [compileFixture('test/fixtures/cross-db-child.ts')], {
      env: { ...process.env, CROSS_CHILD: JSON.stringify({ configs, from: 'bank_l', to: 'bank_r', mode: 'transfer', nodeId }), POLYRECORD_TEST_CRASH_AT: 'after-prepares' },
      stdio: 'ignore',
    });
    const [, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    expect(signal).toBe('SIGKILL');
    for (const name of ['bank_l', 'bank_r']) await waitForNewSessionsToEnd(name, before.get(name)!);

    const pgPrepared = async () => (await ConnectionManager.get('bank_l').knex.raw('select gid from pg_prepared_xacts')).rows.map((r: { gid: string }) => r.gid).filter((gid: string) => gid.startsWith(`polyrec:${nodeId}:`));
    const xaRecover = async () => ((await ConnectionManager.get('bank_r').knex.raw('XA RECOVER'))[0] as { data: string }[]).map((r) => String(r.data)).filter((data) => data.startsWith(`polyrec:${nodeId}:`));
    expect(await pgPrepared()).toHaveLength(1);
    expect(await xaRecover()).toHaveLength(1);

    // Both branches on the page, with no decision logged (the coordinator died before deciding).
    const rows = page.locator('#in-doubt tr', { hasText: `polyrec:${nodeId}:` });
    await waitFor(async () => (await rows.count()) === 2, 'both branches on the page', 60_000);
    for (const text of await rows.allInnerTexts()) expect(text).toMatch(new RegExp(`${nodeId} \\(this node\\)\\s+\\S+.*none: will abort`));
    if (process.env.POLYRECORD_DASHBOARD_SCREENSHOT) {
      await deadParcel('bad-for-the-picture');
      await page.screenshot({ path: join(root, 'docs/images/dashboard.png'), fullPage: true });
    }

    // Recover leaves branches younger than 5 s alone (they may belong to a running transaction): wait until they are older.
    const state = async () => (await call(dashboard.url, '/api/state')).body as unknown as DashboardState;
    await waitFor(async () => (await state()).inDoubt.filter((b) => b.node === nodeId).every((b) => (b.ageMs ?? 0) > 5_000), 'the branches to be 5 s old', 60_000);
    await rows.first().locator('button', { hasText: 'Recover' }).click();
    await waitFor(async () => (await page.locator('#note').innerText()).includes('committed 0, rolled back 2'), 'the page to confirm the recovery', 60_000);
    await waitFor(async () => (await rows.count()) === 0, 'the branches to leave the page', 60_000);
    expect(await pgPrepared()).toEqual([]);
    expect(await xaRecover()).toEqual([]);
    expect((await state()).inDoubt.filter((b) => b.node === nodeId)).toEqual([]);
    expect([await balanceOf('bank_l'), await balanceOf('bank_r')]).toEqual([1000, 1000]);
  }, 240_000);
});

describe('polyrecord dashboard action rules over HTTP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'polyrecord-dashboard-rules-'));
  const PASSWORD = 'dash-s3cret-pw';
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const lite = await DIALECTS.find((d) => d.driver === 'sqlite')!.provision(1);
    drop = lite.drop;
    ConnectionManager.configure('lite', lite.configs[0]!);
    await ensureOutboxTable('lite');
    // A connection with a password to a server that is not there: it shows down, and its password nowhere.
    const connections = { lite: lite.configs[0]!, away: { url: `postgres://dash:${PASSWORD}@127.0.0.1:1/nowhere` } };
    writeFileSync(join(dir, 'polyrecord.config.ts'), `import { defineConfig } from ${SRC}\n\nexport default defineConfig({ connections: ${JSON.stringify(connections)} })\n`);
  });
  afterAll(async () => {
    await ConnectionManager.remove('lite');
    await drop();
  });

  const retry = { connection: 'lite', ids: ['1'] };

  it('beyond the loopback without a token: read-only (POST 403), reads still answer, no password in page or JSON; SIGTERM stops it', async () => {
    const dashboard = await startDashboard(dir, ['--host', '0.0.0.0']);
    expect(dashboard.output()).toContain('read-only');
    const url = dashboard.url.replace('0.0.0.0', '127.0.0.1');
    const refused = await call(url, '/api/outbox/retry', { method: 'POST', headers: { ...json, origin: url.replace(/\/$/, '') }, body: retry });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/read-only/);
    expect((await call(url, '/api/tx/recover', { method: 'POST', headers: { ...json, authorization: 'Bearer anything' }, body: {} })).status).toBe(403);

    await waitFor(async () => ((await call(url, '/api/state')).body as unknown as DashboardState).connections.every((c) => c.health !== null), 'the first probes');
    const state = await fetch(new URL('/api/state', url)).then((r) => r.text());
    const pageHtml = await fetch(url).then((r) => r.text());
    expect(JSON.parse(state).connections.find((c: { name: string }) => c.name === 'away').health.ok).toBe(false);
    expect(pageHtml).toContain('DOWN');
    expect(pageHtml).toContain('<strong>read-only</strong>');
    for (const text of [state, pageHtml]) expect(text).not.toContain(PASSWORD);

    const stopped = await dashboard.stop('SIGTERM');
    expect(stopped.code, stopped.stderr).toBe(0);
  }, 120_000);

  it('beyond the loopback with a token: POST without it or with a wrong one is 401, with it accepted', async () => {
    const dashboard = await startDashboard(dir, ['--host', '0.0.0.0', '--token', 'tok-123']);
    const url = dashboard.url.replace('0.0.0.0', '127.0.0.1');
    const origin = { ...json, origin: url.replace(/\/$/, '') };
    expect((await call(url, '/api/outbox/retry', { method: 'POST', headers: origin, body: retry })).status).toBe(401);
    expect((await call(url, '/api/outbox/retry', { method: 'POST', headers: { ...json, authorization: 'Bearer tok-124' }, body: retry })).status).toBe(401);
    const accepted = await call(url, '/api/outbox/retry', { method: 'POST', headers: { ...json, authorization: 'Bearer tok-123' }, body: { connection: 'lite', ids: 'all' } });
    expect(accepted).toEqual({ status: 200, body: { retried: 0, message: 'retried 0 dead events on lite' } });
    const recover = await call(url, '/api/tx/recover', { method: 'POST', headers: { ...json, 'x-polyrecord-token': 'tok-123' }, body: { minAgeMs: 'soon' } });
    expect(recover).toEqual({ status: 400, body: { error: 'minAgeMs must be a number', field: 'minAgeMs', known: [] } });
    expect((await dashboard.stop('SIGINT')).code).toBe(0);
  }, 120_000);

  it('on the loopback: actions from the page (same origin) without a token, none from elsewhere; a token from the environment is then required', async () => {
    const open = await startDashboard(dir);
    expect(open.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const origin = open.url.replace(/\/$/, '');
    expect((await call(open.url, '/api/tx/recover', { method: 'POST', headers: json, body: {} })).status).toBe(403);
    expect((await call(open.url, '/api/tx/recover', { method: 'POST', headers: { ...json, origin: 'http://evil.example' }, body: {} })).status).toBe(403);
    // Same origin: the action runs, and says what is missing (no coordinator log in this project).
    expect(await call(open.url, '/api/tx/recover', { method: 'POST', headers: { ...json, origin }, body: {} })).toMatchObject({ status: 400, body: { field: 'coordinator' } });
    expect((await call(open.url, '/api/tx/recover', { method: 'POST', headers: { 'content-type': 'text/plain', origin }, body: {} })).status).toBe(415);
    // A page whose name resolves to 127.0.0.1 (DNS rebinding) gets nothing.
    const rebound = await new Promise<number | undefined>((done, fail) => get(new URL('/api/state', open.url), { headers: { host: 'evil.example:80' } }, (r) => done(r.resume().statusCode)).on('error', fail));
    expect(rebound).toBe(403);
    expect((await open.stop()).code).toBe(0);

    const guarded = await startDashboard(dir, [], { POLYRECORD_DASHBOARD_TOKEN: 'env-tok' });
    const guardedOrigin = guarded.url.replace(/\/$/, '');
    expect((await call(guarded.url, '/api/tx/recover', { method: 'POST', headers: { ...json, origin: guardedOrigin }, body: {} })).status).toBe(401);
    expect((await call(guarded.url, '/api/tx/recover', { method: 'POST', headers: { ...json, authorization: 'Bearer env-tok' }, body: {} })).status).toBe(400);
    expect((await guarded.stop()).code).toBe(0);
  }, 120_000);
});
