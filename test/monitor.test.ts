import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ConnectionManager, type HealthReport } from '../src/index.js';
import { SERVER_DIALECTS } from './support/dialects.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { waitFor } from './support/wait.js';

describe('manager.monitor() and status()', () => {
  const manager = new ConnectionManager();
  const dir = mkdtempSync(join(tmpdir(), 'polyrecord-monitor-'));
  const proxies: TcpProxy[] = [];
  const drops: Array<() => Promise<void>> = [];
  const downs: HealthReport[] = [];
  const ups: HealthReport[] = [];
  let stop: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    manager.configure('local', { driver: 'sqlite', database: join(dir, 'local.sqlite') });
    for (const dialect of SERVER_DIALECTS) {
      const { configs, drop } = await dialect.provision(1);
      drops.push(drop);
      const proxy = await startTcpProxy(String(configs[0]!.url));
      proxies.push(proxy);
      manager.configure(`remote_${dialect.driver}`, { url: proxy.url, connectTimeoutMs: 500, healthTimeoutMs: 500 });
    }
    manager.events.on('connection:down', (r) => void downs.push(r));
    manager.events.on('connection:up', (r) => void ups.push(r));
  });
  afterAll(async () => {
    await stop();
    for (const proxy of proxies) proxy.restore();
    await manager.closeAll();
    for (const proxy of proxies) await proxy.close();
    for (const drop of drops) await drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a bad interval is a ConfigError', () => {
    expect(() => manager.monitor({ intervalMs: 0 })).toThrow(ConfigError);
    expect(() => manager.monitor({ intervalMs: 1.5 })).toThrow(ConfigError);
  });

  it('probes every connection in the background: status() shows each one\'s last probe, pool and breaker', async () => {
    stop = manager.monitor({ intervalMs: 100 });
    await waitFor(() => manager.status().every((s) => s.health !== undefined), 'a first round of probes');
    for (const status of manager.status()) {
      expect(status).toMatchObject({ open: true, circuit: 'closed', health: { name: status.name, ok: true } });
      expect(status.pool).toEqual(expect.objectContaining({ used: expect.any(Number), free: expect.any(Number), pending: expect.any(Number) }));
    }
    expect(downs).toEqual([]);
  });

  it.runIf(SERVER_DIALECTS.length > 0)('a server that stops answering is reported down once, and up once when it is back', async () => {
    for (const proxy of proxies) proxy.cut();
    await waitFor(() => downs.length === proxies.length, 'connection:down for every cut server');
    expect(downs.map((r) => r.name).sort()).toEqual(SERVER_DIALECTS.map((d) => `remote_${d.driver}`).sort());
    for (const report of downs) expect(report).toMatchObject({ ok: false, error: expect.any(String) });
    // Still down on the next rounds: no second event.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(downs).toHaveLength(proxies.length);
    expect(manager.status('local').health).toMatchObject({ ok: true });
    for (const proxy of proxies) proxy.restore();
    await waitFor(() => ups.length === proxies.length, 'connection:up for every restored server');
    expect(ups.every((r) => r.ok)).toBe(true);
  });

  it('the function monitor() returns stops it', async () => {
    await stop();
    const last = manager.status('local').health;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(manager.status('local').health).toBe(last);
  });
});
