import { createServer, type Server } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, ConnectionManager, ConnectionNotFoundError, QueryError } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

describe('ConnectionManager configuration', () => {
  const manager = new ConnectionManager();
  afterEach(() => manager.closeAll());

  it('validates config at configure time with a ConfigError naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ driver: 'oracle', database: 'x' }, 'driver'],
      [{ database: 'x' }, 'driver'],
      [{ driver: 'postgresql' }, 'database'],
      [{ driver: 'sqlite', database: '' }, 'database'],
      [{ driver: 'mysql', database: 'x', port: '3306' }, 'port'],
      [{ driver: 'mysql', database: 'x', port: 70000 }, 'port'],
      [{ driver: 'postgresql', database: 'x', pool: { min: 5, max: 2 } }, 'pool.min'],
      [{ driver: 'postgresql', database: 'x', queryTimeoutMs: -1 }, 'queryTimeoutMs'],
      [{ driver: 'postgresql', database: 'x', colour: 'blue' }, 'colour'],
      [{ url: 'ftp://host/db' }, 'url'],
      [{ driver: 'postgresql', database: 'x', statementCacheSize: -1 }, 'statementCacheSize'],
      [{ driver: 'postgresql', database: 'x', statementCacheSize: 70_000 }, 'statementCacheSize'],
      [{ driver: 'mysql', database: 'x', statementCacheSize: 2.5 }, 'statementCacheSize'],
      [{ driver: 'mysql', database: 'x', prepareThreshold: 0 }, 'prepareThreshold'],
    ];
    for (const [config, field] of cases) {
      const error = (() => {
        try {
          manager.configure('bad', config as never);
        } catch (e) {
          return e;
        }
      })();
      expect(error, JSON.stringify(config)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe(field);
      expect((error as Error).message).toContain(field);
    }
    expect(manager.names()).toEqual([]);
  });

  it('rejects values just outside each range with a ConfigError naming the field, and accepts the edges', () => {
    const base = { driver: 'postgresql', database: 'x' };
    const rejected: Array<[unknown, string]> = [
      [null, 'config'],
      ['postgres://h/db', 'config'],
      [{ ...base, port: 0 }, 'port'],
      [{ ...base, port: 65_536 }, 'port'],
      [{ ...base, port: 5432.5 }, 'port'],
      [{ ...base, host: 5 }, 'host'],
      [{ ...base, username: 5 }, 'username'],
      [{ ...base, pool: null }, 'pool'],
      [{ ...base, pool: 3 }, 'pool'],
      [{ ...base, pool: { min: -1 } }, 'pool.min'],
      [{ ...base, pool: { max: 0 } }, 'pool.max'],
      [{ ...base, pool: { max: 'many' } }, 'pool.max'],
      [{ ...base, connectTimeoutMs: 0 }, 'connectTimeoutMs'],
      [{ ...base, connectTimeoutMs: '10' }, 'connectTimeoutMs'],
      [{ ...base, healthTimeoutMs: 1.5 }, 'healthTimeoutMs'],
      [{ ...base, statementCacheSize: 65_536 }, 'statementCacheSize'],
      [{ url: 5 }, 'url'],
      [{ url: 'postgres://h/db', driver: 'mysql' }, 'url'],
      [{ url: 'sqlite:' }, 'database'],
    ];
    for (const [config, field] of rejected) {
      let error: unknown;
      try {
        manager.configure('bad', config as never);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(config)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field, JSON.stringify(config)).toBe(field);
    }
    expect(manager.names()).toEqual([]);

    const edges = manager.configure('edges', { ...base, port: 65_535, pool: { min: 2, max: 2 }, connectTimeoutMs: 1, statementCacheSize: 65_535 } as never);
    expect(edges.settings).toMatchObject({ port: 65_535, pool: { min: 2, max: 2 }, statementCacheSize: 65_535 });
    expect(manager.configure('low-port', { ...base, port: 1 } as never).settings.port).toBe(1);
  });

  it('refuses a duplicate name and bad names', () => {
    manager.configure('main', { driver: 'sqlite', database: ':memory:' });
    expect(() => manager.configure('main', { driver: 'sqlite', database: ':memory:' })).toThrow(ConfigError);
    expect(() => manager.configure('has space', { driver: 'sqlite', database: ':memory:' })).toThrow(ConfigError);
    expect(() => manager.configure('has space', { driver: 'sqlite', database: ':memory:' })).toThrow(expect.objectContaining({ field: 'name' }));
    expect(() => manager.configure(5 as never, { driver: 'sqlite', database: ':memory:' })).toThrow(expect.objectContaining({ field: 'name' }));
    expect(() => manager.alias('has space', 'main')).toThrow(expect.objectContaining({ field: 'alias' }));
  });

  it('accepts driver spellings and URLs', () => {
    expect(manager.configure('a', { driver: 'postgres', database: 'x' }).driver).toBe('postgresql');
    expect(manager.configure('b', { driver: 'mariadb', database: 'x' }).driver).toBe('mysql');
    const c = manager.configure('c', { url: 'postgresql://app:s3cr%40t@db.internal:6543/orders', pool: { max: 3 } });
    expect(c.settings).toMatchObject({ driver: 'postgresql', host: 'db.internal', port: 6543, username: 'app', database: 'orders', pool: { min: 0, max: 3 } });
    expect(c.settings.password).toBe('s3cr@t');
    expect(manager.configure('d', { url: 'sqlite::memory:' }).settings.database).toBe(':memory:');
    expect(manager.configure('e', { url: 'mariadb://root@localhost/app' }).driver).toBe('mysql');
  });

  it('get / has / names / remove / lazy connect', async () => {
    const conn = manager.configure('lazy', { driver: 'sqlite', database: ':memory:' });
    expect(conn.isOpen).toBe(false);
    expect(manager.has('lazy')).toBe(true);
    expect(manager.get('lazy')).toBe(conn);
    await conn.execute('select 1', []);
    expect(conn.isOpen).toBe(true);
    await manager.remove('lazy');
    expect(manager.has('lazy')).toBe(false);
    expect(conn.isOpen).toBe(false);
    expect(() => conn.knex).toThrow(/closed/);
  });

  it('aliases resolve to their target and obey the rules', () => {
    const primary = manager.configure('primary', { driver: 'sqlite', database: ':memory:' });
    manager.configure('other', { driver: 'sqlite', database: ':memory:' });
    manager.alias('writer', 'primary');
    expect(manager.get('writer')).toBe(primary);
    expect(manager.has('writer')).toBe(true);
    expect(manager.aliases()).toEqual(['writer']);
    expect(() => manager.alias('other', 'primary')).toThrow(/shadow/);
    expect(() => manager.alias('writer', 'other')).toThrow(/already defined/);
    expect(() => manager.alias('w2', 'writer')).toThrow(/itself an alias/);
    expect(() => manager.alias('w3', 'missing')).toThrow(ConnectionNotFoundError);
    expect(() => manager.configure('writer', { driver: 'sqlite', database: ':memory:' })).toThrow(/alias/);
  });

  it('an unknown name throws ConnectionNotFoundError listing names and aliases', () => {
    manager.configure('alpha', { driver: 'sqlite', database: ':memory:' });
    manager.configure('beta', { driver: 'sqlite', database: ':memory:' });
    manager.alias('reporting', 'beta');
    const error = (() => {
      try {
        manager.get('gamma');
      } catch (e) {
        return e as ConnectionNotFoundError;
      }
    })()!;
    expect(error).toBeInstanceOf(ConnectionNotFoundError);
    expect(error.message).toContain('"gamma"');
    expect(error.message).toContain('"alpha"');
    expect(error.message).toContain('"beta"');
    expect(error.message).toContain('"reporting"');
    // The same names, as data: what a caller can offer or log.
    expect(error.connection).toBe('gamma');
    expect(error.available).toEqual(['alpha', 'beta', 'reporting']);
  });

  it('static helpers go to ConnectionManager.default', async () => {
    ConnectionManager.configure('static-one', { driver: 'sqlite', database: ':memory:' });
    expect(ConnectionManager.default.has('static-one')).toBe(true);
    expect(ConnectionManager.names()).toContain('static-one');
    await ConnectionManager.remove('static-one');
    expect(ConnectionManager.has('static-one')).toBe(false);
  });
});

describe('passwords never leak', () => {
  const manager = new ConnectionManager();
  const secret = 'Sup3r-S3cret-Pa55';
  afterAll(() => manager.closeAll());

  it('JSON shows "***" for a password that is set, and nothing for none or an empty one', () => {
    const manager = new ConnectionManager();
    const shown = (config: Record<string, unknown>) => JSON.parse(JSON.stringify(manager.configure(`c${manager.names().length}`, { driver: 'postgresql', database: 'x', ...config } as never).settings)).password;
    expect(shown({ password: 'hunter2' })).toBe('***');
    expect(shown({})).toBeUndefined();
    expect(shown({ password: '' })).toBeUndefined();
  });

  it('is absent from String(), inspect(), JSON.stringify() of configs and connections', () => {
    const a = manager.configure('pw-fields', { driver: 'postgresql', host: '127.0.0.1', database: 'x', username: 'u', password: secret });
    const b = manager.configure('pw-url', { url: `mysql://u:${secret}@127.0.0.1:1/x` });
    for (const subject of [a, b, a.settings, b.settings]) {
      for (const text of [String(subject), inspect(subject, { depth: 10, showHidden: true }), JSON.stringify(subject)]) {
        expect(text).not.toContain(secret);
      }
    }
    expect(JSON.stringify(a.settings)).toContain('***');
  });

  it('is absent from errors and health reports for a failing connection', async () => {
    // Port 1 refuses connections: the driver error must not carry the password.
    const logged: string[] = [];
    const spies = (['warn', 'error', 'log', 'info'] as const).map((level) => vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' '))));
    const conn = manager.configure('pw-down', { driver: 'postgresql', host: '127.0.0.1', port: 1, database: 'x', username: 'u', password: secret, connectTimeoutMs: 1000 });
    const error = await conn.execute('select 1', []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryError);
    for (const text of [String(error), (error as Error).message, inspect(error, { depth: 3 }), JSON.stringify(error)]) expect(text).not.toContain(secret);
    const report = await manager.health('pw-down');
    expect(report.ok).toBe(false);
    expect(JSON.stringify(report)).not.toContain(secret);
    for (const spy of spies) spy.mockRestore();
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) expect(line).not.toContain(secret);
  });

  it('a bad password type is reported without the value', () => {
    expect(() => manager.configure('pw-type', { driver: 'postgresql', database: 'x', password: 12345 as never })).toThrow(/password: must be a string \(got number\)/);
  });
});

describe('health of an unreachable or silent server', () => {
  const manager = new ConnectionManager();
  let silent: Server;
  let port = 0;
  // The pool warns of each connection it cannot open (and, at closeAll, of the waits it aborts):
  // expected here, so kept out of the run's output.
  let warnings: { mockRestore(): void };
  beforeAll(async () => {
    warnings = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    // Accepts TCP and never answers: the worst case for a health check.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    await manager.closeAll();
    silent.close();
    warnings.mockRestore();
  });

  for (const driver of ['postgresql', 'mysql'] as const) {
    it(`${driver}: health() gives up within its timeout and does not throw`, async () => {
      manager.configure(`silent-${driver}`, { driver, host: '127.0.0.1', port, database: 'x', username: 'u', healthTimeoutMs: 300, connectTimeoutMs: 1500 });
      const report = await manager.health(`silent-${driver}`);
      // The health timeout ended the wait (not the connect timeout, nor an answer): its own message says so.
      expect(report).toMatchObject({ name: `silent-${driver}`, driver, ok: false, error: 'no answer within 300 ms' });
    });
  }

  it('health() of a refused port is not ok and says why', async () => {
    manager.configure('refused', { driver: 'mysql', host: '127.0.0.1', port: 1, database: 'x', connectTimeoutMs: 1000 });
    const report = await manager.health('refused');
    expect(report.ok).toBe(false);
    expect(report.error).toMatch(/ECONNREFUSED|connect/);
  });
});

describeEachDialect('health', (dialect) => {
  const manager = new ConnectionManager();
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    manager.configure('up', provisioned.configs[0]!);
  });
  afterAll(async () => {
    await manager.closeAll();
    await drop();
  });

  it('reports ok with a latency for a live database, for one or all', async () => {
    // The probe's clock is stubbed: its first reading starts the probe, every later one is 12.345 ms on,
    // so the latency is the round trip rounded to hundredths of a millisecond, exactly.
    const clock = vi.spyOn(performance, 'now');
    try {
      clock.mockReturnValueOnce(1000).mockReturnValue(1012.345);
      expect(await manager.health('up')).toEqual({ name: 'up', driver: dialect.driver, ok: true, latencyMs: 12.35 });
      clock.mockReturnValueOnce(2000).mockReturnValue(2000.5);
      expect(await manager.health()).toEqual([{ name: 'up', driver: dialect.driver, ok: true, latencyMs: 0.5 }]);
    } finally {
      clock.mockRestore();
    }
  });
});
