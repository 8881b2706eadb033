import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, type ConnectionConfig } from '../src/index.js';
import { DIALECTS } from './support/dialects.js';

@Model({ connection: 'reuse', table: 'items' })
class Item extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) n!: number;
}

/** Counts the sessions a connection takes from knex's pool (the lender's slow path). */
function countPoolAcquires(name: string): () => number {
  const client = ConnectionManager.get(name).knex.client as { acquireConnection(): Promise<unknown> };
  const acquire = client.acquireConnection.bind(client);
  let count = 0;
  client.acquireConnection = () => {
    count++;
    return acquire();
  };
  return () => count;
}

// SQLite has one gated connection and no pool to go back to: the servers only.
const servers = DIALECTS.filter((d) => d.driver !== 'sqlite');
// Without server URLs the file still says what it skipped (a file with no test at all fails the run).
if (servers.length === 0) it.skip('pooled sessions between awaited statements (needs POLYRECORD_PG_URL or POLYRECORD_MYSQL_URL)', () => undefined);
for (const dialect of servers) {
  describe(`pooled sessions between awaited statements [${dialect.driver}]`, () => {
    let drop: () => Promise<void>;
    let config: ConnectionConfig;
    beforeAll(async () => {
      const provisioned = await dialect.provision(1);
      drop = provisioned.drop;
      config = provisioned.configs[0]!;
      ConnectionManager.configure('reuse', { ...config, pool: { max: 1 }, connectTimeoutMs: 2_000 });
      await ConnectionManager.get('reuse').knex.schema.createTable('items', (t) => {
        t.increments('id');
        t.integer('n').notNullable();
      });
      await Item.bulkInsert(Array.from({ length: 20 }, (_, n) => ({ n })));
    });
    afterAll(async () => {
      await ConnectionManager.closeAll();
      await drop();
    });

    it('statements awaited one after another keep their session instead of taking one from the pool each time', async () => {
      const acquires = countPoolAcquires('reuse');
      for (let id = 1; id <= 20; id++) expect((await Item.find(id))?.n).toBe(id - 1);
      const user = (await Item.find(1))!;
      for (let n = 0; n < 10; n++) {
        user.n = 100 + n;
        await user.save();
      }
      expect((await Item.find(1))?.n).toBe(109);
      // At most the first statement took a session from knex's pool; each later one got it back at once.
      expect(acquires()).toBeLessThanOrEqual(1);
      // The lingering session counts as free, not lent.
      expect(ConnectionManager.status('reuse').pool).toMatchObject({ used: 0, free: 1 });
    });

    it('hands the session back to the pool within the turn: a pool of one serves a knex query and a transaction right after a model query', async () => {
      const connection = ConnectionManager.get('reuse');
      await Item.find(1);
      expect(await connection.knex('items').count({ n: '*' })).toHaveLength(1);
      await Item.find(2);
      await ConnectionManager.transaction('reuse', async () => {
        const item = (await Item.find(3))!;
        item.n = 3_000;
        await item.save();
      });
      await Item.find(4);
      // A knex query started in the same turn waits only for the turn to end.
      const [row] = await Promise.all([connection.knex('items').where('id', 3).first(), Item.find(5)]);
      expect((row as { n: number }).n).toBe(3_000);
    });

    it('a statement in a later turn (the next request) still takes the lingering session, not one from the pool', async () => {
      await Item.find(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const acquires = countPoolAcquires('reuse');
      expect((await Item.find(2))?.n).toBe(1);
      expect(acquires()).toBe(0);
    });

    it('other users of the pool get a lingering session the moment they ask, without waiting for it to be given back', async () => {
      // With timers frozen from the start, a session that only went back when its linger ran out would never reach the pool.
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate'] });
      try {
        ConnectionManager.configure('reuse_frozen', { ...config, pool: { max: 1 } });
        const connection = ConnectionManager.get('reuse_frozen');
        const items = Item.using('reuse_frozen');
        await items.find(1);
        expect(await connection.knex('items').count({ n: '*' })).toHaveLength(1);
        await items.find(2);
        await ConnectionManager.transaction('reuse_frozen', async () => {
          expect((await items.find(3))?.n).toBe(3_000);
        });
        await items.find(4);
        expect(await connection.knex('items').where('id', 4).first()).toMatchObject({ n: 3 });
      } finally {
        vi.useRealTimers();
        await ConnectionManager.remove('reuse_frozen');
      }
    });

    it('a loop of awaited statements does not keep the session from a caller waiting in the pool', async () => {
      const connection = ConnectionManager.get('reuse');
      let done = 0;
      let servedAt: number | undefined;
      const loop = (async () => {
        for (; done < 200; done++) await Item.find((done % 20) + 1);
      })();
      await Item.find(1);
      await connection.knex('items').count({ n: '*' });
      servedAt = done;
      await loop;
      // The waiter gets the session in its turn, long before the loop ends.
      expect(servedAt).toBeLessThan(20);
    });
  });
}
