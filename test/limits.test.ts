import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActiveRecord, ConfigError, ConnectionManager, LimitExceededError, Model, PrimaryKey, TransactionError } from '../src/index.js';
import { SERVER_DIALECTS, describeEachDialect } from './support/dialects.js';
import { deferred, waitFor } from './support/wait.js';

@Model({ connection: 'limited', table: 'numbers' })
class NumberRow extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
}

describe('limits are checked at configure()', () => {
  const manager = new ConnectionManager();
  const dir = mkdtempSync(join(tmpdir(), 'polyrecord-limits-'));
  afterAll(async () => {
    await manager.closeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an unknown limit or a bad value is a ConfigError naming it', () => {
    const sqlite = { driver: 'sqlite' as const, database: join(dir, 'a.sqlite') };
    expect(() => manager.configure('a', { ...sqlite, limits: { maxRow: 5 } as never })).toThrow(/limits\.maxRow/);
    expect(() => manager.configure('b', { ...sqlite, limits: { maxRows: 0 } })).toThrow(ConfigError);
    expect(() => manager.configure('c', { ...sqlite, limits: 7 as never })).toThrow(ConfigError);
  });

  it('SQLite lends its one session to one caller at a time: the queue limits bound the wait for it', async () => {
    manager.configure('d', { driver: 'sqlite', database: join(dir, 'd.sqlite'), limits: { maxQueued: 1, queueTimeoutMs: 300 } });
    const db = manager.get('d');
    const holding = deferred();
    const release = deferred();
    const holder = manager.transaction('d', async (trx) => {
      await trx.query('select 1');
      // Another acquire from the scope that holds the session fails at once, as without limits.
      expect(await db.execute('select 3', []).catch((e: unknown) => e)).toBeInstanceOf(TransactionError);
      holding.resolve();
      await release.promise;
      return trx.query('select 2 as two');
    });
    await holding.promise;
    const waiting = db.execute('select 1', []).catch((e: unknown) => e);
    await waitFor(() => manager.status('d').limits?.queued === 1, 'one caller queued');
    expect(await db.execute('select 1', []).catch((e: unknown) => e)).toMatchObject({ limit: 'maxQueued', value: 1 });
    expect(await waiting).toMatchObject({ limit: 'queueTimeoutMs', value: 300 });
    release.resolve();
    expect(await holder).toHaveLength(1);
    expect((await db.execute('select 1 as one', [])).rows).toHaveLength(1);
    expect(manager.status('d').limits).toEqual({ active: 0, queued: 0, rejected: 2 });
  });
});

describeEachDialect('limits.maxRows', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('limited', { ...provisioned.configs[0]!, limits: { maxRows: 3 } });
    await ConnectionManager.get('limited').execute('create table numbers (id integer primary key)', []);
    await ConnectionManager.get('limited').execute('insert into numbers (id) values (1), (2), (3), (4)', []);
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  it('an answer of more rows than allowed fails with LimitExceededError; smaller ones go through', async () => {
    expect(await NumberRow.query().limit(3).all()).toHaveLength(3);
    const error = await NumberRow.query().all().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LimitExceededError);
    expect(error).toMatchObject({ code: 'E_LIMIT_EXCEEDED', connection: 'limited', limit: 'maxRows', value: 3 });
    expect(String((error as Error).message)).toMatch(/answered 4 rows/);
    // Inside a transaction too, and the connection stays usable.
    expect(await NumberRow.transaction(() => NumberRow.query().all()).catch((e: unknown) => e)).toBeInstanceOf(LimitExceededError);
    expect(await NumberRow.count()).toBe(4);
    expect(ConnectionManager.status('limited').limits).toMatchObject({ rejected: 2 });
  });
});

for (const dialect of SERVER_DIALECTS) {
  describe(`limits on sessions [${dialect.driver}]`, () => {
    const manager = new ConnectionManager();
    let drop: () => Promise<void>;
    const sleep = dialect.driver === 'postgresql' ? 'select pg_sleep(0.3)' : 'select sleep(0.3)';

    beforeAll(async () => {
      const provisioned = await dialect.provision(1);
      drop = provisioned.drop;
      manager.configure('gated', { ...provisioned.configs[0]!, limits: { maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 300 } });
      manager.configure('pair', { ...provisioned.configs[0]!, limits: { maxConcurrent: 2 } });
    });
    afterAll(async () => {
      await manager.closeAll();
      await drop();
    });

    it('maxConcurrent sessions at once; the rest wait their turn in order', async () => {
      const runs = Array.from({ length: 4 }, () => manager.get('pair').execute(sleep, []));
      await waitFor(() => manager.status('pair').limits?.queued === 2, 'two callers queued');
      expect(manager.status('pair').limits).toEqual({ active: 2, queued: 2, rejected: 0 });
      await Promise.all(runs);
      expect(manager.status('pair').limits).toEqual({ active: 0, queued: 0, rejected: 0 });
    });

    it('a full queue refuses at once (maxQueued), a wait too long fails (queueTimeoutMs), and the held session is unharmed', async () => {
      const holding = deferred();
      const release = deferred();
      const holder = manager.transaction('gated', async (trx) => {
        await trx.query('select 1');
        holding.resolve();
        await release.promise;
        return trx.query('select 2 as two');
      });
      await holding.promise;
      const waiting = manager
        .get('gated')
        .execute('select 1', [])
        .catch((e: unknown) => e);
      await waitFor(() => manager.status('gated').limits?.queued === 1, 'one caller queued');
      const refused = await manager
        .get('gated')
        .execute('select 1', [])
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(LimitExceededError);
      expect(refused).toMatchObject({ limit: 'maxQueued', value: 1 });
      const timedOut = await waiting;
      expect(timedOut).toBeInstanceOf(LimitExceededError);
      expect(timedOut).toMatchObject({ limit: 'queueTimeoutMs', value: 300 });
      release.resolve();
      expect(await holder).toHaveLength(1);
      expect((await manager.get('gated').execute('select 1 as one', [])).rows).toHaveLength(1);
      expect(manager.status('gated').limits).toEqual({ active: 0, queued: 0, rejected: 2 });
    });
  });
}
