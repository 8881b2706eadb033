import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectionManager, QueryError, QueryTimeoutError } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { User, createUsersTable } from './support/schema.js';

describeEachDialect('query errors', (dialect) => {
  const manager = ConnectionManager.default;
  let drop: () => Promise<void>;
  let database = '';
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    const config = provisioned.configs[0]!;
    database = String(config.database ?? '');
    manager.configure('primary', config);
    manager.configure('slow', { ...config, queryTimeoutMs: 300 });
    await createUsersTable(manager.get('primary').knex);
  });
  afterAll(async () => {
    await manager.closeAll();
    await drop();
  });

  it('QueryError wraps the driver error, keeps its code and names the connection', async () => {
    await User.create({ email: 'dup@e.io' });
    const error = await User.create({ email: 'dup@e.io' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryError);
    const queryError = error as QueryError;
    expect(queryError.connection).toBe('primary');
    expect(queryError.message).toMatch(/^\[primary\]/);
    expect(queryError.driverCode).toBe({ sqlite: 'SQLITE_CONSTRAINT_UNIQUE', postgresql: '23505', mysql: 'ER_DUP_ENTRY' }[dialect.driver]);
    expect(queryError.sql).toMatch(/insert into/i);
    expect(queryError.cause).toBeDefined();

    const syntax = await manager.get('primary').execute('selec nonsense', []).catch((e: unknown) => e);
    expect(syntax).toBeInstanceOf(QueryError);
    expect((syntax as QueryError).driverCode).toBeTruthy();
  });

  if (dialect.driver === 'sqlite') {
    it('queryTimeoutMs bounds the wait for a database locked by another process', async () => {
      const other = new Database(database);
      other.exec('BEGIN IMMEDIATE');
      try {
        const started = Date.now();
        const error = await User.using('slow').create({ email: 'locked@e.io' }).catch((e: unknown) => e);
        expect(Date.now() - started).toBeGreaterThanOrEqual(250);
        expect(error).toBeInstanceOf(QueryError);
        expect((error as QueryError).driverCode).toBe('SQLITE_BUSY');
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      expect((await User.using('slow').create({ email: 'free@e.io' })).id).toBeGreaterThan(0);
    });
  } else {
    it('queryTimeoutMs cancels a long statement with QueryTimeoutError and leaves the connection usable', async () => {
      const sleep = dialect.driver === 'postgresql' ? 'select pg_sleep(3)' : 'select sleep(3)';
      const started = Date.now();
      const error = await User.using('slow').rawQuery(sleep).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2500);
      expect(error).toBeInstanceOf(QueryTimeoutError);
      expect((error as QueryTimeoutError).timeoutMs).toBe(300);
      expect((error as QueryTimeoutError).connection).toBe('slow');
      // Every pooled connection still works afterwards.
      const results = await Promise.all(Array.from({ length: 5 }, () => manager.get('slow').execute('select 1 as one', [])));
      expect(results.every((r) => Number(r.rows[0]!.one) === 1)).toBe(true);
    });
  }
});
