import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ConnectionManager, LockTimeoutError, PolyrecordError, QueryError, QueryTimeoutError, UniqueViolationError } from '../src/index.js';
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
    const duplicate = { sqlite: 'SQLITE_CONSTRAINT_UNIQUE', postgresql: '23505', mysql: 'ER_DUP_ENTRY' }[dialect.driver];
    // A duplicate is the typed subclass, still a QueryError (see test/driver-errors.test.ts for every kind).
    expect(queryError).toBeInstanceOf(UniqueViolationError);
    expect(queryError.code).toBe('E_UNIQUE_VIOLATION');
    expect(queryError.driverCode).toBe(duplicate);
    expect(queryError.sql).toMatch(/insert into/i);
    // The cause is the driver's own error, whose code and message the QueryError carries.
    const cause = queryError.cause as Error & { code: unknown };
    expect(cause).toBeInstanceOf({ sqlite: Database.SqliteError, postgresql: pg.DatabaseError, mysql: Error }[dialect.driver]);
    expect(cause).not.toBeInstanceOf(PolyrecordError);
    expect(cause.code).toBe(duplicate);
    expect(queryError.message).toBe(`[primary] ${cause.message}`);

    const syntax = await manager.get('primary').execute('selec nonsense', []).catch((e: unknown) => e);
    expect(syntax).toBeInstanceOf(QueryError);
    expect(syntax).toMatchObject({ code: 'E_QUERY', connection: 'primary', driverCode: { sqlite: 'SQLITE_ERROR', postgresql: '42601', mysql: 'ER_PARSE_ERROR' }[dialect.driver] });
  });

  if (dialect.driver === 'sqlite') {
    it('queryTimeoutMs bounds the wait for a database locked by another process', async () => {
      // The bound is SQLite's busy timeout, set from queryTimeoutMs (the default connection keeps 5 s).
      expect((await manager.get('slow').execute('PRAGMA busy_timeout', [])).rows).toEqual([{ timeout: 300 }]);
      expect((await manager.get('primary').execute('PRAGMA busy_timeout', [])).rows).toEqual([{ timeout: 5000 }]);
      const other = new Database(database);
      other.exec('BEGIN IMMEDIATE');
      try {
        // The wait ends with SQLite's "busy" error: the timeout fired instead of the insert waiting for the lock forever.
        const error = await User.using('slow').create({ email: 'locked@e.io' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LockTimeoutError);
        expect(error).toMatchObject({ code: 'E_LOCK_TIMEOUT', connection: 'slow', driverCode: 'SQLITE_BUSY' });
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      expect((await User.using('slow').create({ email: 'free@e.io' })).id).toBeGreaterThan(0);
    });
  } else {
    it('queryTimeoutMs cancels a long statement with QueryTimeoutError and leaves the connection usable', async () => {
      const sleep = dialect.driver === 'postgresql' ? 'select pg_sleep(3)' : 'select sleep(3)';
      // A sleep left to finish resolves with a row; only the server cancelling it makes a QueryTimeoutError.
      const error = await User.using('slow').rawQuery(sleep).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryTimeoutError);
      expect((error as QueryTimeoutError).code).toBe('E_QUERY_TIMEOUT');
      expect((error as QueryTimeoutError).timeoutMs).toBe(300);
      expect((error as QueryTimeoutError).connection).toBe('slow');
      // Every pooled connection still works afterwards.
      const results = await Promise.all(Array.from({ length: 5 }, () => manager.get('slow').execute('select 1 as one', [])));
      expect(results.every((r) => Number(r.rows[0]!.one) === 1)).toBe(true);
    });
  }
});

describe('a SQLite database that cannot be opened', () => {
  it('fails every query with a ConfigError naming connection and path, and keeps failing instead of hanging', async () => {
    const manager = new ConnectionManager();
    const connection = manager.configure('unopenable', { driver: 'sqlite', database: '/nonexistent-dir/polyrecord/db.sqlite' });
    try {
      for (let i = 0; i < 3; i++) {
        const error = await connection.execute('select 1', []).catch((e: unknown) => e);
        expect(error, `attempt ${i + 1}`).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).message).toMatch(/"unopenable".*\/nonexistent-dir\/polyrecord\/db\.sqlite.*directory does not exist/);
      }
      await expect(manager.transaction('unopenable', () => undefined)).rejects.toBeInstanceOf(ConfigError);
    } finally {
      await manager.closeAll();
    }
  });
});
