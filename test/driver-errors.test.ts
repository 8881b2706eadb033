import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  CheckViolationError,
  ConnectionLostError,
  ConnectionManager,
  DeadlockError,
  ForeignKeyViolationError,
  LockNotAvailableError,
  LockTimeoutError,
  NotNullViolationError,
  QueryError,
  QueryTimeoutError,
  SerializationFailureError,
  UniqueViolationError,
  type Transaction,
} from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { deferred } from './support/wait.js';

// Every typed QueryError provoked for real on each database: what the driver said, what the user gets.
describeEachDialect('typed driver errors', (dialect) => {
  const manager = new ConnectionManager();
  const driver = dialect.driver;
  let drop: () => Promise<void>;
  let url = '';
  let file = '';
  const db = () => manager.get('errors');
  const statement = (sql: string) => db().execute(sql, []);
  const failure = (sql: string) => statement(sql).then(
    () => expect.unreachable(`${sql} succeeded`),
    (error: unknown) => error as QueryError,
  );

  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    const config = provisioned.configs[0]!;
    url = String(config.url ?? '');
    file = String(config.database ?? '');
    manager.configure('errors', config);
    manager.configure('impatient', { ...config, queryTimeoutMs: 300 });
    await statement('create table parents (id integer primary key, name varchar(50) not null, score integer not null, constraint parents_name_unique unique (name), constraint parents_score_check check (score >= 0))');
    await statement('create table children (id integer primary key, parent_id integer not null, constraint children_parent_fk foreign key (parent_id) references parents (id))');
    await statement("insert into parents (id, name, score) values (1, 'one', 1), (2, 'two', 2)");
  });
  afterAll(async () => {
    await manager.closeAll();
    await drop();
  });

  it('a duplicate is a UniqueViolationError naming what the driver reports', async () => {
    const error = await failure("insert into parents (id, name, score) values (3, 'one', 3)");
    expect(error).toBeInstanceOf(UniqueViolationError);
    expect(error).toBeInstanceOf(QueryError);
    expect(error).toMatchObject({
      code: 'E_UNIQUE_VIOLATION',
      connection: 'errors',
      driverCode: { sqlite: 'SQLITE_CONSTRAINT_UNIQUE', postgresql: '23505', mysql: 'ER_DUP_ENTRY' }[driver],
      ...{
        sqlite: { table: 'parents', column: 'name' },
        postgresql: { table: 'parents', constraint: 'parents_name_unique', column: 'name' },
        mysql: { constraint: 'parents_name_unique' },
      }[driver],
    });
    // A duplicate primary key is one too.
    expect(await failure("insert into parents (id, name, score) values (1, 'uno', 1)")).toBeInstanceOf(UniqueViolationError);
  });

  it('a missing parent, and a parent with children, are ForeignKeyViolationErrors (SQLite enforces foreign keys too)', async () => {
    const orphan = await failure('insert into children (id, parent_id) values (1, 99)');
    expect(orphan).toBeInstanceOf(ForeignKeyViolationError);
    expect(orphan).toMatchObject({
      code: 'E_FOREIGN_KEY_VIOLATION',
      driverCode: { sqlite: 'SQLITE_CONSTRAINT_FOREIGNKEY', postgresql: '23503', mysql: 'ER_NO_REFERENCED_ROW_2' }[driver],
      ...{
        sqlite: {},
        postgresql: { table: 'children', constraint: 'children_parent_fk', column: 'parent_id' },
        mysql: { table: 'children', constraint: 'children_parent_fk', column: 'parent_id' },
      }[driver],
    });
    await statement('insert into children (id, parent_id) values (1, 1)');
    expect(await failure('delete from parents where id = 1')).toBeInstanceOf(ForeignKeyViolationError);
    // The refused delete changed nothing.
    expect((await statement('select id from parents where id = 1')).rows).toHaveLength(1);
  });

  it('null in a NOT NULL column is a NotNullViolationError naming the column', async () => {
    const error = await failure('insert into parents (id, name, score) values (5, null, 5)');
    expect(error).toBeInstanceOf(NotNullViolationError);
    expect(error).toMatchObject({
      code: 'E_NOT_NULL_VIOLATION',
      column: 'name',
      driverCode: { sqlite: 'SQLITE_CONSTRAINT_NOTNULL', postgresql: '23502', mysql: 'ER_BAD_NULL_ERROR' }[driver],
    });
    if (driver !== 'mysql') expect(error.table).toBe('parents');
  });

  it('a row a CHECK constraint refuses is a CheckViolationError naming the constraint', async () => {
    const error = await failure("insert into parents (id, name, score) values (6, 'six', -1)");
    expect(error).toBeInstanceOf(CheckViolationError);
    expect(error).toMatchObject({
      code: 'E_CHECK_VIOLATION',
      constraint: 'parents_score_check',
      driverCode: { sqlite: 'SQLITE_CONSTRAINT_CHECK', postgresql: '23514', mysql: 'ER_CONSTRAINT_FAILED' }[driver],
    });
    if (driver !== 'sqlite') expect(error.table).toBe('parents');
  });

  it('a lock held longer than the wait allows is a LockTimeoutError (a LockNotAvailableError); NOWAIT stays a LockNotAvailableError', async () => {
    if (driver === 'sqlite') {
      // Another process holds the write lock past the busy timeout (queryTimeoutMs).
      const other = new Database(file);
      other.exec('BEGIN IMMEDIATE');
      try {
        const error = await manager.get('impatient').execute("insert into parents (id, name, score) values (7, 'seven', 7)", []).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LockTimeoutError);
        expect(error).toBeInstanceOf(LockNotAvailableError);
        expect(error).toMatchObject({ code: 'E_LOCK_TIMEOUT', driverCode: 'SQLITE_BUSY' });
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      return;
    }
    const locked = deferred();
    const release = deferred();
    const holder = manager.transaction('errors', async (trx) => {
      await trx.query('select id from parents where id = 2 for update');
      locked.resolve();
      await release.promise;
    });
    await locked.promise;
    try {
      const waitLimit = driver === 'postgresql' ? "set local lock_timeout = '200ms'" : 'set session innodb_lock_wait_timeout = 1';
      const timedOut = await manager.transaction('errors', async (trx) => {
        await trx.query(waitLimit);
        await trx.query('update parents set score = 20 where id = 2');
      }).catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(LockTimeoutError);
      expect(timedOut).toMatchObject({ code: 'E_LOCK_TIMEOUT', driverCode: driver === 'postgresql' ? '55P03' : 'ER_LOCK_WAIT_TIMEOUT' });
      const refused = await manager.transaction('errors', (trx) => trx.query('select id from parents where id = 2 for update nowait')).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(LockNotAvailableError);
      expect(refused).not.toBeInstanceOf(LockTimeoutError);
      expect(refused).toMatchObject({ code: 'E_LOCK_NOT_AVAILABLE' });
    } finally {
      release.resolve();
      await holder;
    }
  });

  it.runIf(driver !== 'sqlite')('two transactions locking two rows in opposite orders: one gets a DeadlockError and is rolled back, the other commits', async () => {
    await statement('update parents set score = 0 where id in (1, 2)');
    const firstLocked = [deferred(), deferred()];
    const lockInTurn = (first: number, second: number, mine: { resolve(): void }, theirs: Promise<void>) =>
      manager.transaction('errors', async (trx: Transaction) => {
        await trx.query(`update parents set score = score + 1 where id = ${first}`);
        mine.resolve();
        await theirs;
        await trx.query(`update parents set score = score + 1 where id = ${second}`);
      });
    const outcomes = await Promise.allSettled([lockInTurn(1, 2, firstLocked[0]!, firstLocked[1]!.promise), lockInTurn(2, 1, firstLocked[1]!, firstLocked[0]!.promise)]);
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toBeInstanceOf(DeadlockError);
    expect(failed[0]!.reason).toMatchObject({ code: 'E_DEADLOCK', driverCode: driver === 'postgresql' ? '40P01' : 'ER_LOCK_DEADLOCK' });
    // The winner's two increments are there, the loser's none.
    const rows = (await statement('select score from parents where id in (1, 2) order by id')).rows;
    expect(rows.map((r) => Number(r.score))).toEqual([1, 1]);
  });

  it('a write from a snapshot another transaction changed meanwhile is a SerializationFailureError', async () => {
    if (driver === 'sqlite') {
      // A read transaction (deferred BEGIN, as raw SQL may start one) whose WAL snapshot went stale cannot write.
      await statement('begin');
      try {
        await statement('select count(*) from parents');
        const other = new Database(file);
        other.prepare('update parents set score = 30 where id = 2').run();
        other.close();
        const error = await failure('update parents set score = 31 where id = 2');
        expect(error).toBeInstanceOf(SerializationFailureError);
        expect(error).toMatchObject({ code: 'E_SERIALIZATION_FAILURE', driverCode: 'SQLITE_BUSY_SNAPSHOT' });
      } finally {
        await statement('rollback');
      }
      return;
    }
    const snapshotTaken = deferred();
    const changed = deferred();
    const stale = manager.transaction('errors', async (trx) => {
      // PostgreSQL REPEATABLE READ; MariaDB's REPEATABLE READ with snapshot isolation (10.6.18+).
      await trx.query(driver === 'postgresql' ? 'set transaction isolation level repeatable read' : 'set session innodb_snapshot_isolation = on');
      await trx.query('select score from parents where id = 2');
      snapshotTaken.resolve();
      await changed.promise;
      await trx.query('update parents set score = 41 where id = 2');
    });
    await snapshotTaken.promise;
    await statement('update parents set score = 40 where id = 2');
    changed.resolve();
    const error = await stale.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SerializationFailureError);
    expect(error).toMatchObject({ code: 'E_SERIALIZATION_FAILURE', driverCode: driver === 'postgresql' ? '40001' : 'ER_CHECKREAD' });
    expect((await statement('select score from parents where id = 2')).rows[0]).toMatchObject({ score: 40 });
  });

  it.runIf(driver !== 'sqlite')('a session killed by the server in the middle of a transaction is a ConnectionLostError', async () => {
    const error = await manager
      .transaction('errors', async (trx) => {
        const [row] = await trx.query<{ id: number | string }>(driver === 'postgresql' ? 'select pg_backend_pid() as id' : 'select connection_id() as id');
        if (driver === 'postgresql') {
          const admin = new pg.Client({ connectionString: url });
          await admin.connect();
          await admin.query('select pg_terminate_backend($1)', [Number(row!.id)]);
          await admin.end();
        } else {
          const admin = await mysql.createConnection(url);
          await admin.query(`kill ${Number(row!.id)}`);
          await admin.end();
        }
        await trx.query('select 1');
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(error).toMatchObject({ code: 'E_CONNECTION_LOST', connection: 'errors' });
    // The pool replaces the dead session.
    expect((await statement('select 1 as one')).rows).toHaveLength(1);
  });

  it.runIf(driver !== 'sqlite')('a server that cannot be reached is a ConnectionLostError too', async () => {
    manager.configure('nowhere', { driver, url: driver === 'postgresql' ? 'postgres://u:secret@127.0.0.1:1/x' : 'mysql://u:secret@127.0.0.1:1/x', connectTimeoutMs: 2_000 });
    const error = await manager.get('nowhere').execute('select 1', []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(String((error as Error).message)).not.toContain('secret');
  });

  it.runIf(driver !== 'sqlite')('a statement past queryTimeoutMs is a QueryTimeoutError', async () => {
    const error = await manager.get('impatient').execute(driver === 'postgresql' ? 'select pg_sleep(3)' : 'select sleep(3)', []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryTimeoutError);
    expect(error).toMatchObject({ code: 'E_QUERY_TIMEOUT', timeoutMs: 300 });
  });

  it('any other failure stays a plain QueryError', async () => {
    const error = await failure('select * from no_such_table');
    expect(error.constructor).toBe(QueryError);
    expect(error).toMatchObject({ code: 'E_QUERY', table: undefined, constraint: undefined, column: undefined });
  });
});
