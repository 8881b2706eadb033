import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionLostError, ConnectionManager, Model, PrimaryKey, type QueryEvent } from '../src/index.js';
import { SERVER_DIALECTS } from './support/dialects.js';
import { waitFor } from './support/wait.js';

@Model({ connection: 'lossy', table: 'items' })
class Item extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) n!: number;
}

// SQLite runs in this process: it has no session to lose. Without server URLs the file says so.
if (SERVER_DIALECTS.length === 0) it.skip('a lost session (needs POLYRECORD_PG_URL or POLYRECORD_MYSQL_URL)', () => undefined);

for (const dialect of SERVER_DIALECTS) {
  describe(`statements whose session is lost outside a transaction [${dialect.driver}]`, () => {
    const postgres = dialect.driver === 'postgresql';
    // A statement that takes long enough on the server for its session to be killed while it runs.
    const slowly = postgres ? '(select pg_sleep(0.4)) is not null' : 'sleep(0.4) = 0';
    let url = '';
    let drop: () => Promise<void>;
    const events: QueryEvent[] = [];
    const record = (event: QueryEvent) => void events.push(event);
    /** The outcome of `work`, awaited later without an unhandled rejection meanwhile. */
    const settle = <T>(work: Promise<T>) => work.then((value) => ({ value }), (error: unknown) => ({ error }));

    /** Kills, from another client, the session running a statement that contains `marker`, once it is running. */
    async function killSessionRunning(marker: string): Promise<void> {
      if (postgres) {
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        try {
          const find = "select pid from pg_stat_activity where query like $1 and pid <> pg_backend_pid() and state = 'active'";
          let pid: number | undefined;
          await waitFor(async () => (pid = (await admin.query(find, [`%${marker}%`])).rows[0]?.pid) !== undefined, 'the statement running');
          await admin.query('select pg_terminate_backend($1)', [pid]);
        } finally {
          await admin.end();
        }
      } else {
        const admin = await mysql.createConnection(url);
        try {
          const find = "select id from information_schema.processlist where info like ? and id <> connection_id() and command = 'Query'";
          let id: number | undefined;
          await waitFor(async () => (id = ((await admin.query(find, [`%${marker}%`]))[0] as Array<{ id: number }>)[0]?.id) !== undefined, 'the statement running');
          await admin.query(`kill ${Number(id)}`);
        } finally {
          await admin.end();
        }
      }
    }

    beforeAll(async () => {
      const provisioned = await dialect.provision(1);
      drop = provisioned.drop;
      const config = provisioned.configs[0]!;
      url = String(config.url);
      ConnectionManager.configure('lossy', { ...config, pool: { max: 1 } });
      ConnectionManager.configure('fragile', { ...config, pool: { max: 1 }, lostSessionRetries: 0 });
      await ConnectionManager.get('lossy').knex.schema.createTable('items', (t) => {
        t.integer('id').primary();
        t.integer('n').notNullable();
      });
      await Item.bulkInsert([{ id: 1, n: 1 }, { id: 2, n: 2 }]);
      ConnectionManager.default.events.on('query', record);
    });
    beforeEach(() => {
      events.length = 0;
    });
    afterAll(async () => {
      ConnectionManager.default.events.off('query', record);
      await ConnectionManager.closeAll();
      await drop();
    });

    it('a model read runs again on a fresh session, and the caller gets its rows', async () => {
      const reading = settle(Item.whereRaw(`${slowly} and 'read-1' = 'read-1'`).orderBy('id').all());
      await killSessionRunning('read-1');
      const outcome = await reading;
      expect('error' in outcome ? outcome.error : undefined).toBeUndefined();
      expect(('value' in outcome ? outcome.value : []).map((item) => item.n)).toEqual([1, 2]);
      // Two runs: the first lost its session, the second answered.
      const runs = events.filter((e) => e.sql.includes('read-1'));
      expect(runs.map((e) => e.error?.constructor.name ?? 'ok')).toEqual(['ConnectionLostError', 'ok']);
    });

    it('a write is not run again: its error is the ConnectionLostError, after one run', async () => {
      const writing = settle(Item.whereRaw(`${slowly} and 'write-1' = 'write-1'`).update({ n: 5 }));
      await killSessionRunning('write-1');
      const outcome = await writing;
      expect('error' in outcome ? outcome.error : undefined).toBeInstanceOf(ConnectionLostError);
      expect(events.filter((e) => e.sql.includes('write-1'))).toHaveLength(1);
      // The killed statement was rolled back with its session.
      expect((await Item.orderBy('id').all()).map((item) => item.n)).toEqual([1, 2]);
    });

    it('a statement its caller marks idempotent is run again', async () => {
      const connection = ConnectionManager.get('lossy');
      const sql = `update items set n = 7 where id = 2 and ${slowly} and 'mark-1' = 'mark-1'`;
      const running = settle(connection.execute(sql, [], { idempotent: true }));
      await killSessionRunning('mark-1');
      const outcome = await running;
      expect('error' in outcome ? outcome.error : undefined).toBeUndefined();
      expect('value' in outcome ? outcome.value.affected : undefined).toBe(1);
      expect(events.filter((e) => e.sql.includes('mark-1'))).toHaveLength(2);
      expect((await Item.find(2))!.n).toBe(7);
    });

    it('a model update marked idempotent() is run again', async () => {
      const running = settle(Item.whereRaw(`${slowly} and 'mark-2' = 'mark-2'`).where('id', 1).idempotent().update({ n: 9 }));
      await killSessionRunning('mark-2');
      const outcome = await running;
      expect('error' in outcome ? outcome.error : undefined).toBeUndefined();
      expect('value' in outcome ? outcome.value : undefined).toBe(1);
      expect(events.filter((e) => e.sql.includes('mark-2')).map((e) => e.error?.constructor.name ?? 'ok')).toEqual(['ConnectionLostError', 'ok']);
      expect((await Item.find(1))!.n).toBe(9);
      await Item.where('id', 1).update({ n: 1 });
    });

    it('lostSessionRetries: 0 turns it off: the read fails with the ConnectionLostError', async () => {
      const reading = settle(Item.using('fragile').whereRaw(`${slowly} and 'read-2' = 'read-2'`).all());
      await killSessionRunning('read-2');
      const outcome = await reading;
      expect('error' in outcome ? outcome.error : undefined).toBeInstanceOf(ConnectionLostError);
      // The pool replaced the session: the next read works.
      expect(await Item.using('fragile').count()).toBe(2);
    });
  });
}
