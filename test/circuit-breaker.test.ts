import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitOpenError, ConfigError, ConnectionLostError, ConnectionManager, UniqueViolationError, type CircuitEvent, type QueryEvent } from '../src/index.js';
import { SERVER_DIALECTS } from './support/dialects.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

it('breaker options are checked at configure(): a ConfigError names the bad one', () => {
  const manager = new ConnectionManager();
  expect(() => manager.configure('a', { driver: 'sqlite', database: ':memory:', breaker: { failureThreshold: 0 } })).toThrow(ConfigError);
  expect(() => manager.configure('b', { driver: 'sqlite', database: ':memory:', breaker: { failures: 3 } as never })).toThrow(/breaker\.failures/);
  expect(() => manager.configure('c', { driver: 'sqlite', database: ':memory:', breaker: 'yes' as never })).toThrow(ConfigError);
  manager.configure('d', { driver: 'sqlite', database: ':memory:', breaker: true });
  expect(manager.get('d').settings.breaker).toEqual({ failureThreshold: 5, windowMs: 10_000, cooldownMs: 5_000 });
  expect(manager.get('d').circuitState).toBe('closed');
});

// A breaker counts connection-level failures, which SQLite (in this process) cannot have: the servers only.
if (SERVER_DIALECTS.length === 0) it.skip('a circuit breaker on a server connection (needs POLYRECORD_PG_URL or POLYRECORD_MYSQL_URL)', () => undefined);

for (const dialect of SERVER_DIALECTS) {
  describe(`a connection's circuit breaker [${dialect.driver}]`, () => {
    const manager = new ConnectionManager();
    let drop: () => Promise<void>;
    let proxy: TcpProxy;
    const transitions: string[] = [];
    const queries: QueryEvent[] = [];
    const db = () => manager.get('guarded');
    const select = () => db().execute('select 1 as one', []);

    beforeAll(async () => {
      const provisioned = await dialect.provision(1);
      drop = provisioned.drop;
      proxy = await startTcpProxy(String(provisioned.configs[0]!.url));
      manager.configure('guarded', { url: proxy.url, pool: { max: 2 }, connectTimeoutMs: 1_000, breaker: { failureThreshold: 3, windowMs: 10_000, cooldownMs: 400 } });
      for (const state of ['open', 'halfOpen', 'closed'] as const) manager.events.on(`circuit:${state}`, (e: CircuitEvent) => void transitions.push(`${e.state}:${e.connection}`));
      manager.events.on('query', (e) => void queries.push(e));
      await db().execute('create table guarded_items (id integer primary key)', []);
      await db().execute('insert into guarded_items (id) values (1)', []);
    });
    afterAll(async () => {
      proxy.restore();
      await manager.closeAll();
      await proxy.close();
      await drop();
    });

    it('statements the database refuses are answers: a unique violation never trips it', async () => {
      for (let i = 0; i < 5; i++) expect(await db().execute('insert into guarded_items (id) values (1)', []).catch((e: unknown) => e)).toBeInstanceOf(UniqueViolationError);
      expect(db().circuitState).toBe('closed');
      expect(transitions).toEqual([]);
    });

    it('opens after failureThreshold lost or refused connections; then calls fail at once, without touching the network', async () => {
      proxy.cut();
      // Sessions the pool still holds break on their next statement; new ones are refused.
      for (let i = 0; i < 3; i++) expect(await select().catch((e: unknown) => e)).toBeInstanceOf(ConnectionLostError);
      expect(db().circuitState).toBe('open');
      expect(transitions).toEqual(['open:guarded']);
      const sent = queries.length;
      const error = await select().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(error).toMatchObject({ code: 'E_CIRCUIT_OPEN', connection: 'guarded' });
      expect((error as CircuitOpenError).retryInMs).toBeGreaterThan(0);
      // Transactions and pool acquires are refused the same way.
      expect(await manager.transaction('guarded', (trx) => trx.query('select 1')).catch((e: unknown) => e)).toBeInstanceOf(CircuitOpenError);
      expect(queries.length).toBe(sent);
    });

    it('after the cool-down one probe goes through: a failed probe opens it again', async () => {
      await new Promise((resolve) => setTimeout(resolve, 450));
      expect(await select().catch((e: unknown) => e)).toBeInstanceOf(ConnectionLostError);
      expect(transitions).toEqual(['open:guarded', 'halfOpen:guarded', 'open:guarded']);
      expect(await select().catch((e: unknown) => e)).toBeInstanceOf(CircuitOpenError);
    });

    it('a probe that reaches the database closes it, and calls go through again', async () => {
      proxy.restore();
      await new Promise((resolve) => setTimeout(resolve, 450));
      expect((await select()).rows).toHaveLength(1);
      expect(transitions).toEqual(['open:guarded', 'halfOpen:guarded', 'open:guarded', 'halfOpen:guarded', 'closed:guarded']);
      expect(db().circuitState).toBe('closed');
      expect((await select()).rows).toHaveLength(1);
    });
  });
}
