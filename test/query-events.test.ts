import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import {
  ConnectionManager,
  CrossDbTransaction,
  ensureOutboxTable,
  OutboxRelay,
  OUTBOX_TABLE,
  QueryError,
  SYNC_STATE_TABLE,
  SyncJob,
  TX_LOG_TABLE,
  type ConnectionWarning,
  type QueryEvent,
} from '../src/index.js';
import { Account, createAccounts, transfer } from './support/accounts.js';
import { DIALECTS, describeEachDialect, SERVER_DIALECTS } from './support/dialects.js';
import { countQueries } from './support/query-count.js';
import { createServerUser, serverUrl } from './support/server-users.js';
import { createMemberTables, Member, MemberCopy } from './support/sync-models.js';
import { rollBackLeftovers, runNodeId } from './support/two-phase.js';
import { waitFor } from './support/wait.js';

const sqlite = DIALECTS.find((d) => d.driver === 'sqlite')!;
const texts = (queries: readonly QueryEvent[]) => queries.map((q) => q.sql);
const matching = (queries: readonly QueryEvent[], pattern: RegExp) => queries.filter((q) => pattern.test(q.sql));

describeEachDialect('query events', (dialect) => {
  const drops: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    const provisioned = await dialect.provision(2);
    drops.push(provisioned.drop);
    ConnectionManager.configure('src', provisioned.configs[0]!);
    ConnectionManager.configure('dst', provisioned.configs[1]!);
    await createMemberTables(ConnectionManager.get('src').knex, ConnectionManager.get('dst').knex);
    await ensureOutboxTable('src');
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  });
  beforeEach(async () => {
    for (const [name, table] of [['src', 'members'], ['src', OUTBOX_TABLE], ['dst', 'member_copies']] as const) await ConnectionManager.get(name).knex(table).delete();
  });
  afterEach(() => expect(ConnectionManager.default.events.listenerCount('query'), 'a test left a query listener').toBe(0));

  it('reports model queries with their connection, text, bindings, rows and duration', async () => {
    await Member.bulkInsert([{ email: 'a@q.io', visits: 1 }, { email: 'b@q.io', visits: 2 }]);
    const { result, queries } = await countQueries(() => Member.where({ visits: 2 }).all(), { connection: 'src' });
    expect(result).toHaveLength(1);
    expect(queries).toHaveLength(1);
    const [select] = queries;
    expect(select).toMatchObject({ connection: 'src', rows: 1, inTransaction: false });
    expect(select!.sql).toMatch(/^select .* from [`"]members[`"] where [`"]visits[`"] = (\?|\$1)$/);
    expect(select!.bindings).toEqual([2]);
    expect(select!.durationMs).toBeGreaterThanOrEqual(0);
    expect(select!.error).toBeUndefined();

    const update = await countQueries(() => Member.where({ visits: 1 }).update({ visits: 3 }), { connection: 'src' });
    expect(matching(update.queries, /^update/)).toMatchObject([{ affected: 1, rows: 0 }]);
  });

  it('reports raw SQL, through the connection, a model and knex builders', async () => {
    const connection = ConnectionManager.get('src');
    const { queries } = await countQueries(async () => {
      await connection.execute(connection.knex.raw('select ? as n', [7]).toSQL().toNative().sql, [7]);
      await Member.rawQuery('select count(*) as n from members where visits > ?', [0]);
      await connection.knex('members').where({ email: 'knex@q.io' }).select('id');
      await connection.knex.raw('select 1 as one');
    });
    expect(queries.map((q) => [q.connection, q.rows, q.inTransaction])).toEqual([
      ['src', 1, false],
      ['src', 1, false],
      ['src', 0, false],
      ['src', 1, false],
    ]);
    expect(queries[1]!.bindings).toEqual([0]);
    // knex's builders are reported with the dialect's placeholders, as sent.
    expect(queries[2]!.sql).toMatch(dialect.driver === 'postgresql' ? /= \$1/ : /= \?/);
    expect(queries[2]!.bindings).toEqual(['knex@q.io']);
  });

  it('reports a local transaction: BEGIN, the statements in it and COMMIT, all inTransaction', async () => {
    const { queries } = await countQueries(
      () =>
        ConnectionManager.transaction('src', async (trx) => {
          await Member.create({ email: 'trx@q.io', visits: 1 });
          await trx.query('select count(*) as n from members');
          await trx.table('members').where({ email: 'trx@q.io' }).update({ visits: 2 });
        }),
      { connection: 'src' },
    );
    const begin = ConnectionManager.get('src').dialect.beginStatement;
    expect(queries[0]!.sql).toBe(begin);
    expect(queries.at(-1)!.sql).toBe('COMMIT');
    expect(matching(queries, /^insert into [`"]members/)).toHaveLength(1);
    expect(matching(queries, /^insert into [`"]polyrecord_outbox/)).toHaveLength(1);
    expect(matching(queries, /^select count/)).toHaveLength(1);
    expect(matching(queries, /^update [`"]members/)).toMatchObject([{ affected: 1 }]);
    expect(queries.every((q) => q.inTransaction)).toBe(true);

    const { queries: after } = await countQueries(() => Member.where({ email: 'trx@q.io' }).first(), { connection: 'src' });
    expect(after.map((q) => q.inTransaction)).toEqual([false]);
  });

  it('reports savepoints, their release and their rollback', async () => {
    const { queries } = await countQueries(
      () =>
        ConnectionManager.transaction('src', async () => {
          await ConnectionManager.transaction('src', (inner) => inner.query('select 1 as kept'));
          await ConnectionManager.transaction('src', async (inner) => {
            await inner.query('select 2 as undone');
            throw new Error('undo');
          }).catch(() => undefined);
        }),
      { connection: 'src' },
    );
    const savepoints = texts(queries).filter((sql) => /SAVEPOINT/.test(sql));
    expect(savepoints.map((sql) => sql.replace(/ \w+$/, ''))).toEqual(['SAVEPOINT', 'RELEASE SAVEPOINT', 'SAVEPOINT', 'ROLLBACK TO SAVEPOINT']);
    expect(queries.every((q) => q.inTransaction)).toBe(true);
  });

  it('reports the bulk path: one event per row statement on SQLite, one per chunk on servers', async () => {
    const rows = Array.from({ length: 5 }, (_, i) => ({ email: `bulk${i}@q.io`, visits: i }));
    const { queries } = await countQueries(() => Member.bulkInsert(rows), { connection: 'src' });
    const inserts = matching(queries, /^insert into [`"]members/);
    expect(inserts).toHaveLength(dialect.driver === 'sqlite' ? 5 : 1);
    expect(inserts.every((q) => q.inTransaction === (dialect.driver === 'sqlite'))).toBe(true);
    if (dialect.driver === 'sqlite') expect(inserts.map((q) => q.bindings[0])).toEqual(rows.map((r) => r.email));
  });

  it('reports a failing statement with its error', async () => {
    const connection = ConnectionManager.get('src');
    const { sql } = connection.knex.raw('select * from no_such_table where id = ?', [1]).toSQL().toNative();
    const { queries } = await countQueries(() => connection.execute(sql, [1]).catch((error: unknown) => error));
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatchObject({ connection: 'src', sql, bindings: [1], rows: 0, affected: 0, inTransaction: false });
    expect(queries[0]!.error).toBeInstanceOf(QueryError);
    expect(queries[0]!.error!.message).toMatch(/no_such_table/);

    const { queries: viaKnex } = await countQueries(() => ConnectionManager.get('src').knex('no_such_table').select('*').catch((error: unknown) => error));
    expect(viaKnex).toHaveLength(1);
    expect(viaKnex[0]!.error).toBeInstanceOf(QueryError);
    expect(viaKnex[0]!.error!.connection).toBe('src');
  });

  it('reports the outbox relay bookkeeping and the SyncJob checkpoint statements', async () => {
    await Member.create({ email: 'relay@q.io', visits: 1 });
    const relay = new OutboxRelay({ connection: 'src', batchSize: 10 });
    const { result, queries } = await countQueries(() => relay.runOnce(), { connection: 'src' });
    expect(result.delivered).toBe(1);
    const outbox = matching(queries, /polyrecord_outbox/);
    // The claim (a select and an update, or one update … returning) and the done mark.
    expect(outbox.length).toBeGreaterThanOrEqual(2);
    expect(matching(outbox, /status = 'done'/)).toMatchObject([{ affected: 1 }]);

    const job = new SyncJob<Member, MemberCopy>({
      name: `qe-${randomBytes(3).toString('hex')}`,
      source: Member,
      target: MemberCopy,
      map: (m) => ({ memberId: m.id, email: m.email, visits: m.visits }),
      conflictKeys: ['memberId'],
      watermark: 'updatedAt',
    });
    const synced = await countQueries(() => job.run());
    const checkpoints = matching(synced.queries, new RegExp(SYNC_STATE_TABLE));
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
    expect(matching(synced.queries, /member_copies/).length).toBeGreaterThanOrEqual(1);
  });

  it('a listener that throws changes nothing for the statement and becomes a warning', async () => {
    const warnings: ConnectionWarning[] = [];
    const onWarning = (warning: ConnectionWarning) => void warnings.push(warning);
    const throwing = () => {
      throw new Error('listener bug');
    };
    ConnectionManager.default.events.on('warning', onWarning);
    ConnectionManager.default.events.on('query', throwing);
    try {
      expect(await Member.where({ visits: 99 }).count()).toBe(0);
    } finally {
      ConnectionManager.default.events.off('query', throwing);
      ConnectionManager.default.events.off('warning', onWarning);
    }
    expect(warnings.map((w) => w.code)).toEqual(['E_QUERY_LISTENER_FAILED']);
    expect(warnings[0]!.message).toMatch(/listener bug/);
  });

  it('stops reporting once the listener is removed', async () => {
    const seen: QueryEvent[] = [];
    const listener = (event: QueryEvent) => void seen.push(event);
    ConnectionManager.default.events.on('query', listener);
    await Member.where({ visits: 1 }).count();
    const sqliteBulk = Member.bulkInsert([{ email: 'x@q.io', visits: 1 }]);
    await sqliteBulk;
    const counted = seen.length;
    expect(counted).toBeGreaterThanOrEqual(2);
    ConnectionManager.default.events.off('query', listener);
    expect(ConnectionManager.default.events.listenerCount('query')).toBe(0);
    await Member.where({ visits: 1 }).count();
    await Member.bulkInsert([{ email: 'y@q.io', visits: 1 }]);
    await ConnectionManager.get('src').knex('members').select('id');
    await Member.transaction(async () => void (await Member.create({ email: 'z@q.io', visits: 1 })));
    expect(seen).toHaveLength(counted);
  });

  // SQLite's compiled path touches no pool timer, so any clock read here would be the events' own.
  it.runIf(dialect.driver === 'sqlite')('with nobody listening, a statement reads no clock', async () => {
    await Member.where({ visits: 1 }).count();
    const now = vi.spyOn(performance, 'now');
    try {
      await Member.where({ visits: 1 }).count();
      await Member.bulkInsert([{ email: 'clock@q.io', visits: 1 }]);
      expect(now).not.toHaveBeenCalled();
      const { queries } = await countQueries(() => Member.where({ visits: 1 }).count());
      expect(queries).toHaveLength(1);
      expect(now).toHaveBeenCalledTimes(2);
    } finally {
      now.mockRestore();
    }
  });

  it.runIf(dialect.driver !== 'sqlite')('no event field shows the password of a connection configured with one', async () => {
    const secret = `Pw${randomBytes(6).toString('hex')}`;
    const user = await createServerUser(dialect.driver, secret);
    // A user without privileges may still connect to a PostgreSQL database, and to MariaDB's information_schema.
    const database = dialect.driver === 'postgresql' ? String(ConnectionManager.get('src').settings.database) : 'information_schema';
    ConnectionManager.configure('secret', { url: serverUrl(dialect.driver, { username: user.username, password: secret, database }) });
    try {
      const connection = ConnectionManager.get('secret');
      const { queries } = await countQueries(async () => {
        // The password in the statement's text (a literal), and quoted back by the server in an error.
        await connection.execute(`select '${secret}' as quoted`, []);
        await connection.execute(`select * from ${secret}_missing`, []).catch(() => undefined);
        await connection.knex.raw(`select '${secret}' as quoted`);
        await ConnectionManager.transaction('secret', (trx) => trx.query(`select '${secret}' as quoted`));
      }, { connection: 'secret' });
      expect(queries.length).toBeGreaterThanOrEqual(6);
      expect(queries.some((q) => q.error !== undefined)).toBe(true);
      for (const event of queries) {
        const printed = [JSON.stringify(event), inspect(event, { depth: 6 }), event.error?.message ?? '', event.error?.stack ?? '', inspect(event.error?.cause ?? '', { depth: 6 })].join('\n');
        expect(printed).not.toContain(secret);
      }
      expect(queries[0]!.sql).toBe(`select '***' as quoted`);
    } finally {
      await ConnectionManager.remove('secret');
      await user.drop();
    }
  });
});

/**
 * A cross-database transaction: both phases and the coordinator log's writes are reported.
 * On a server, two databases of that server; on SQLite, SQLite as the last resource with
 * the first server of this run (skipped without one).
 */
describeEachDialect('query events of a CrossDbTransaction', (dialect) => {
  const server = dialect.driver === 'sqlite' ? SERVER_DIALECTS[0] : dialect;
  const nodeId = runNodeId(`qe-${dialect.driver}`);
  const drops: Array<() => Promise<void>> = [];
  const names = ['qx_l', 'qx_r'];
  const twoPhaseNames = () => names.filter((name) => ConnectionManager.get(name).twoPhase !== undefined);
  beforeAll(async () => {
    if (!server) return;
    const lite = await sqlite.provision(2);
    const servers = await server.provision(dialect.driver === 'sqlite' ? 1 : 2);
    drops.push(lite.drop, servers.drop);
    ConnectionManager.configure('qx_l', dialect.driver === 'sqlite' ? lite.configs[1]! : servers.configs[0]!);
    ConnectionManager.configure('qx_r', dialect.driver === 'sqlite' ? servers.configs[0]! : servers.configs[1]!);
    ConnectionManager.configure('qx_log', lite.configs[0]!);
    for (const name of names) await createAccounts(ConnectionManager.get(name).knex);
    CrossDbTransaction.configure({ log: 'qx_log', nodeId });
  });
  afterAll(async () => {
    if (server) expect(await rollBackLeftovers(twoPhaseNames(), nodeId)).toEqual([]);
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  });

  it.runIf(server !== undefined)('reports the branches, their two-phase statements and the log writes', async () => {
    void Account;
    let id = '';
    const { queries } = await countQueries(async () => {
      id = await CrossDbTransaction.run(async (tx) => {
        await transfer('qx_l', 'qx_r', 10);
        return tx.id;
      });
      // The done mark is written after run() resolves.
      await waitFor(async () => ((await ConnectionManager.get('qx_log').knex(TX_LOG_TABLE).where({ id }).first()) as { state: string } | undefined)?.state === 'committed', 'the done mark');
    });
    for (const name of names) {
      const on = queries.filter((q) => q.connection === name);
      const driver = ConnectionManager.get(name).driver;
      const expected =
        driver === 'postgresql'
          ? [/^BEGIN$/, /^update accounts/, /^PREPARE TRANSACTION '/, /^COMMIT PREPARED '/]
          : driver === 'mysql'
            ? [/^XA START/, /^update accounts/, /^XA END/, /^XA PREPARE/, /^XA COMMIT/]
            : [/^BEGIN IMMEDIATE$/, /^update accounts/, /polyrecord_tx_decisions/, /^COMMIT$/];
      // Checked once per connection: the decision table's existence (and creation), PostgreSQL's max_prepared_transactions.
      const statements = on.filter((q) => !/^(select 1 from sqlite_master|create table|show max_prepared_transactions)/i.test(q.sql));
      expect(texts(statements), name).toHaveLength(expected.length);
      statements.forEach((q, i) => expect(q.sql).toMatch(expected[i]!));
      expect(statements.every((q) => q.inTransaction)).toBe(true);
      if (driver === 'mysql') expect(statements[0]!.bindings[0]).toContain(id);
    }
    const logged = queries.filter((q) => q.connection === 'qx_log' && q.sql.includes(TX_LOG_TABLE));
    // The decision, then the done mark.
    expect(logged.some((q) => /^insert/.test(q.sql))).toBe(true);
    expect(logged.some((q) => /^update/.test(q.sql))).toBe(true);
  });
});
