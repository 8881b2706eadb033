import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckViolationError,
  CircuitOpenError,
  ConnectionLostError,
  ConnectionManager,
  ensureOutboxTable,
  ensureSyncStateTable,
  LimitExceededError,
  NotNullViolationError,
  OutboxRelay,
  OUTBOX_TABLE,
  TableLog,
  TX_LOG_TABLE,
  type ConnectionConfig,
  type DriverName,
} from '../src/index.js';
import { describeEachDialect, SERVER_DIALECTS } from './support/dialects.js';
import { createServerUser, serverUrl, type ServerUser } from './support/server-users.js';
import { deferred } from './support/wait.js';

/**
 * polyrecord's own bookkeeping (the coordinator log, the outbox relay, sync checkpoints)
 * runs its statements through the connection like model statements: a failure is a typed
 * QueryError with the password filtered out, and each statement counts against the
 * connection's circuit breaker and limits.
 */

/** Lets `username` create and use tables in the provisioned database `url` (whose credentials are the admin's). */
async function grantDatabase(driver: DriverName, url: string, database: string, username: string): Promise<void> {
  if (driver === 'postgresql') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`GRANT ALL ON SCHEMA public TO ${client.escapeIdentifier(username)}`);
    } finally {
      await client.end();
    }
    return;
  }
  const client = await mysql.createConnection(url);
  try {
    await client.query(`GRANT ALL PRIVILEGES ON \`${database}\`.* TO ?@?`, [username, '%']);
  } finally {
    await client.end();
  }
}

/** The same server and database on a port where nothing listens. */
function refused(config: ConnectionConfig): ConnectionConfig {
  return { url: Object.assign(new URL((config as { url: string }).url), { port: '1' }).toString() };
}

for (const dialect of SERVER_DIALECTS) {
  describe(`bookkeeping statements that fail on the server are typed, password-filtered errors [${dialect.driver}]`, () => {
    const driver = dialect.driver;
    const secret = `Pw${randomBytes(6).toString('hex')}`;
    const manager = new ConnectionManager();
    let config: ConnectionConfig;
    let drop: () => Promise<void>;
    let user: ServerUser;

    beforeAll(async () => {
      const provisioned = await dialect.provision(1);
      drop = provisioned.drop;
      config = provisioned.configs[0]!;
      const url = (config as { url: string }).url;
      const database = new URL(url).pathname.slice(1);
      user = await createServerUser(driver, secret);
      await grantDatabase(driver, url, database, user.username);
      manager.configure('bk', { url: serverUrl(driver, { username: user.username, password: secret, database }) });
    });
    afterAll(async () => {
      await manager.closeAll();
      await drop?.();
      await user?.drop();
    });

    /** Nothing the application may print shows the password; the server's quote of it was replaced. */
    function expectFiltered(error: Error & { sql?: string }): void {
      for (const text of [error.message, error.stack, error.sql ?? '', String(error), JSON.stringify(error), inspect(error, { depth: 10 })]) expect(text).not.toContain(secret);
      expect(error.message).toMatch(/\*\*\*/);
    }

    it('a coordinator-log decision the server refuses is a NotNullViolationError naming the connection', async () => {
      const log = new TableLog({ connection: 'bk', manager });
      await log.ensure();
      // One more NOT NULL column than the log writes, named so the server's message quotes the password.
      await manager.get('bk').knex.schema.alterTable(TX_LOG_TABLE, (t) => void t.string(`c_${secret}`, 8).notNullable());
      const error = await log.decide('tx-refused', 'committing', []).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotNullViolationError);
      expect(error).toMatchObject({ connection: 'bk' });
      expectFiltered(error as NotNullViolationError);
    });

    it('an outbox claim the server refuses is a CheckViolationError, and the relay round fails with it', async () => {
      await ensureOutboxTable('bk', manager);
      const knex = manager.get('bk').knex;
      // Any claim counts an attempt, which this constraint (named like the password) forbids.
      await knex.raw('alter table ?? add constraint ?? check (attempts < 1)', [OUTBOX_TABLE, `ck_${secret}`]);
      await knex(OUTBOX_TABLE).insert({ aggregate: 'Probe', aggregate_key: '1', event_type: 'created', payload: '{}', created_at: new Date(), next_attempt_at: 0, status: 'pending', attempts: 0 });
      const relay = new OutboxRelay({ connection: 'bk', manager, handlers: { Probe: () => undefined } });
      const error = await relay.runOnce().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckViolationError);
      expect(error).toMatchObject({ connection: 'bk' });
      expectFiltered(error as CheckViolationError);
    });

    it('a coordinator log on a server that refuses connections opens the circuit breaker', async () => {
      manager.configure('bk_down', { ...refused(config), connectTimeoutMs: 2_000, breaker: { failureThreshold: 2, windowMs: 60_000, cooldownMs: 60_000 } });
      const log = new TableLog({ connection: 'bk_down', manager });
      const errors: unknown[] = [];
      for (let i = 0; i < 3; i++) errors.push(await log.pending().catch((e: unknown) => e));
      expect(errors[0]).toBeInstanceOf(ConnectionLostError);
      expect(errors[1]).toBeInstanceOf(ConnectionLostError);
      expect(errors[2]).toBeInstanceOf(CircuitOpenError);
      expect(manager.status('bk_down').circuit).toBe('open');
    });
  });
}

describeEachDialect('bookkeeping statements count against the connection limits', (dialect) => {
  const manager = new ConnectionManager();
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    manager.configure('bk_limited', { ...provisioned.configs[0]!, limits: { maxConcurrent: 1, maxQueued: 0 } });
  });
  afterAll(async () => {
    await manager.closeAll();
    await drop();
  });

  it('the sync-state table check is refused while the only session is lent, and counted as refused', async () => {
    const holding = deferred();
    const release = deferred();
    const holder = manager.transaction('bk_limited', async (trx) => {
      await trx.query('select 1');
      holding.resolve();
      await release.promise;
    });
    await holding.promise;
    const error = await ensureSyncStateTable('bk_limited', manager).catch((e: unknown) => e);
    release.resolve();
    await holder;
    expect(error).toBeInstanceOf(LimitExceededError);
    expect(error).toMatchObject({ connection: 'bk_limited', limit: 'maxQueued', value: 0 });
    expect(manager.status('bk_limited').limits).toMatchObject({ rejected: 1 });
    // With the session back, the same call goes through.
    await ensureSyncStateTable('bk_limited', manager);
  });
});
