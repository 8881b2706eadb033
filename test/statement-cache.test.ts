import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, QueryError, type ConnectionConfig } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { sessionFigures } from './support/server-statements.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A table that grows from empty while a statement on it stays prepared (PostgreSQL plan test). */
@Model({ connection: 'growing', table: 'grown' })
class Grown extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) code!: string;
}

@Model({ connection: 'primary', table: 'items' })
class Item extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) n!: number;
  @Column({ type: 'string' }) label!: string;
}

const SIZE = 25;
const SESSIONS = 2;
const SHAPES = 20_000;

/** Runs `count` queries, `parallel` at a time, so every session of the pool takes part. */
async function inWaves(count: number, parallel: number, query: (i: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < count; start += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, count - start) }, (_, k) => query(start + k)));
  }
}

function heapMB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

describeEachDialect('statement cache', (dialect) => {
  let drop: () => Promise<void>;
  let config: ConnectionConfig;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    config = provisioned.configs[0]!;
    ConnectionManager.configure('primary', config);
    await ConnectionManager.get('primary').knex.schema.createTable('items', (t) => {
      t.increments('id');
      t.integer('n').notNullable();
      t.string('label', 64).notNullable();
    });
    await Item.bulkInsert(Array.from({ length: 50 }, (_, i) => ({ n: i, label: `item ${i}` })));
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  it('prepares a shape only once it has run prepareThreshold times; raw SQL only when asked', async () => {
    const connection = ConnectionManager.configure('counting', { ...config, pool: { max: 1 }, statementCacheSize: 10, prepareThreshold: 3 });
    const counting = Item.using('counting');
    const prepared = async () => {
      const [figures] = await sessionFigures(connection, 1);
      const status = connection.status().statements;
      return { ours: status.prepared, server: figures!.prepared };
    };
    const base = await prepared();

    expect(await counting.where('n', 1).count()).toBe(1);
    expect(await counting.where('n', 2).count()).toBe(1);
    expect(await prepared()).toEqual(base);
    expect(await counting.where('n', 3).count()).toBe(1); // third run of the same shape
    const afterThird = await prepared();
    expect(afterThird.ours).toBe(base.ours + 1);
    if (afterThird.server !== undefined) expect(afterThird.server).toBe(base.server! + 1);

    for (let i = 0; i < 5; i++) expect(await counting.whereRaw(`n = ${i}`).count()).toBe(1);
    for (let i = 0; i < 5; i++) expect(await counting.rawQuery('select * from items where n < ?', [3])).toHaveLength(3);
    expect(await prepared()).toEqual(afterThird);

    for (let i = 0; i < 3; i++) expect(await counting.whereRaw('n < ?', [10], { prepare: true }).count()).toBe(10);
    for (let i = 0; i < 3; i++) expect(await counting.rawQuery('select * from items where n < ?', [4], { prepare: true })).toHaveLength(4);
    const asked = await prepared();
    expect(asked.ours).toBe(afterThird.ours + 2);
    if (asked.server !== undefined) expect(asked.server).toBe(afterThird.server! + 2);

    expect(await counting.where('n', 4).count()).toBe(1);
    const stats = connection.status().statements;
    expect(stats).toMatchObject({ size: 10, prepareThreshold: 3, sessions: 1, prepares: 3, evictions: 0, refused: 0 });
    expect(stats.hits).toBeGreaterThan(0);
    await ConnectionManager.remove('counting');
  });

  it(`runs ${SHAPES.toLocaleString('en')} distinct statement texts on a pool of ${SESSIONS}: none fails, no session keeps more than statementCacheSize, memory stays flat`, async () => {
    const connection = ConnectionManager.configure('tiny', { ...config, pool: { min: 0, max: SESSIONS }, statementCacheSize: SIZE, prepareThreshold: 1 });
    const tiny = Item.using('tiny');
    // Every text is new: an inlined value (what generated reports do), made preparable on purpose; and a limit per query (one text, many shapes).
    const shape = (i: number) => (i % 2 === 0 ? tiny.whereRaw(`n <> ${i}`, [], { prepare: true }).where('n', '<', 3).count() : tiny.query().where('n', '>=', 0).limit((i % 40) + 1).offset(i).all());
    await inWaves(2_000, 4, shape); // caches reach their bounds
    const before = await sessionFigures(connection, SESSIONS);
    const heapBefore = heapMB();

    await inWaves(SHAPES, 4, (i) => shape(2_000 + i));

    const heapAfter = heapMB();
    const after = await sessionFigures(connection, SESSIONS);
    const stats = connection.status().statements;
    expect(stats.largestSession).toBeLessThanOrEqual(SIZE);
    expect(stats.prepared).toBeLessThanOrEqual(SIZE * SESSIONS);
    expect(stats.evictions).toBeGreaterThanOrEqual(SHAPES / 2 - SIZE * SESSIONS);
    expect(stats.refused).toBe(0);
    for (const session of after) {
      if (session.prepared !== undefined) expect(session.prepared).toBeLessThanOrEqual(SIZE);
    }
    // PostgreSQL keeps about 9 KB of plan per prepared statement: 10,000 of them per session would be ~90 MB.
    after.forEach((session, i) => {
      if (session.backendBytes !== undefined) expect(session.backendBytes - before[i]!.backendBytes!).toBeLessThan(8 * 2 ** 20);
    });
    expect(heapAfter - heapBefore).toBeLessThan(8);
    await ConnectionManager.remove('tiny');
  }, 180_000);

  it('keeps hot statements prepared: repeated finds hit the cache', async () => {
    const connection = ConnectionManager.get('primary');
    const before = connection.status().statements;
    for (let i = 0; i < 200; i++) expect((await Item.find((i % 50) + 1))?.n).toBe(i % 50);
    const after = connection.status().statements;
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(195);
    expect(after.hitRate).toBeGreaterThan(0.5);
    const listed = ConnectionManager.status();
    expect(listed.map((s) => s.name)).toContain('primary');
    expect(ConnectionManager.status('primary').pool).toBeDefined();
  });

  it('a full session releases its least recently used statement: one run again outlives a newer one', async () => {
    const connection = ConnectionManager.configure('lru', { ...config, pool: { max: 1 }, statementCacheSize: 2, prepareThreshold: 1 });
    const lru = Item.using('lru');
    const a = () => lru.where('n', 1).count();
    const b = () => lru.where('label', 'item 1').count();
    const c = () => lru.where('n', '>', 1).count();
    expect([await a(), await b()]).toEqual([1, 1]); // both prepared, the session is full
    expect(await a()).toBe(1); // a hit: `a` is now the most recently used
    expect(await c()).toBe(48); // room for `c`: `b` goes, not `a`
    const before = connection.status().statements;
    expect(await a()).toBe(1);
    expect(connection.status().statements.hits).toBe(before.hits + 1);
    expect(await b()).toBe(1);
    expect(connection.status().statements).toMatchObject({ prepared: 2, prepares: before.prepares + 1, evictions: before.evictions + 1 });
    await ConnectionManager.remove('lru');
  });

  it('statementCacheSize 0 prepares nothing', async () => {
    const connection = ConnectionManager.configure('unprepared', { ...config, pool: { max: 1 }, statementCacheSize: 0 });
    for (let i = 0; i < 20; i++) expect(await Item.using('unprepared').where('n', i).count()).toBe(1);
    const [figures] = await sessionFigures(connection, 1);
    if (figures!.prepared !== undefined) expect(figures!.prepared).toBe(0);
    expect(connection.status().statements).toMatchObject({ prepared: 0, prepares: 0, hits: 0 });
    await ConnectionManager.remove('unprepared');
  });

  if (dialect.driver === 'postgresql') {
    it('releases statements inside a failed transaction too, and the session stays usable', async () => {
      const connection = ConnectionManager.configure('aborting', { ...config, pool: { max: 1 }, statementCacheSize: 2, prepareThreshold: 1 });
      const aborting = Item.using('aborting');
      await aborting.where('n', 1).count();
      await aborting.where('label', 'item 1').count();
      const error = await ConnectionManager.transaction('aborting', async () => {
        await expect(aborting.whereRaw('n / 0 = 1').count()).rejects.toBeInstanceOf(QueryError);
        // A third shape evicts the first while the transaction is failed: Close is accepted there, DEALLOCATE would not be.
        await aborting.where('n', '>', 1).count();
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryError);
      expect((error as QueryError).driverCode).toBe('25P02'); // the transaction's own failure, nothing of the cache's
      const [figures] = await sessionFigures(connection, 1);
      expect(figures!.prepared).toBeLessThanOrEqual(2);
      expect(await aborting.where('n', 1).count()).toBe(1);
      expect(await aborting.where('n', '>', 1).count()).toBe(48);
      await ConnectionManager.remove('aborting');
    });

    it('a statement whose table grew a thousandfold is planned again: it stops scanning the whole table with a plan made while it was empty', async () => {
      const connection = ConnectionManager.configure('growing', { ...config, pool: { max: 1 }, prepareThreshold: 1 });
      // Statistics taken while the table was empty, and no autovacuum to refresh them during the test: the state
      // of a fresh table that an application queries at start-up and then fills.
      await connection.execute('create table grown (id serial primary key, code varchar(32) not null unique) with (autovacuum_enabled = false)', []);
      await connection.execute('vacuum analyze grown', []);
      const codes = (from: number) => Array.from({ length: 16 }, (_, i) => `c${from + i * 97}`);
      const sequentialReads = async () => {
        await connection.execute('select pg_stat_force_next_flush()', []); // this session's counters, published when it goes idle
        const { rows } = await connection.execute("select seq_tup_read::int as n from pg_stat_user_tables where relname = 'grown'", []);
        return Number(rows[0]!.n);
      };
      try {
        // On the empty table PostgreSQL settles on a generic plan that costs nothing: a sequential scan.
        for (let i = 0; i < 10; i++) expect(await Grown.whereIn('code', codes(i)).count()).toBe(0);
        await Grown.bulkInsert(Array.from({ length: 20_000 }, (_, i) => ({ code: `c${i}` })));
        const before = await sequentialReads();
        for (let i = 0; i < 60; i++) expect(await Grown.whereIn('code', codes(i)).count()).toBe(16);
        const scanned = (await sequentialReads()) - before;
        // Kept, that plan would read all 20,000 rows 60 times (1.2 million), each compared with all 16 codes.
        // Prepared again after 16 runs, the statement is planned for the table as it is: an index lookup.
        expect(scanned).toBeLessThanOrEqual(10 * 20_000);
        expect(connection.status().statements.replans).toBeGreaterThanOrEqual(2);
        // The statement given up each time was released on the server: two shapes, two statements.
        const [figures] = await sessionFigures(connection, 1);
        expect(figures!.prepared).toBe(2);
      } finally {
        await connection.execute('drop table grown', []);
        await ConnectionManager.remove('growing');
      }
    });

    it('a statement whose table changed shape runs unprepared once, then is prepared again', async () => {
      const connection = ConnectionManager.configure('altering', { ...config, pool: { max: 1 }, prepareThreshold: 1 });
      const rows = await Item.using('altering').rawQuery('select * from items where n = ?', [7], { prepare: true });
      expect(rows).toHaveLength(1);
      await connection.knex.schema.alterTable('items', (t) => t.integer('extra').defaultTo(5));
      try {
        const again = await Item.using('altering').rawQuery('select * from items where n = ?', [7], { prepare: true });
        expect((again[0] as unknown as { extra: number }).extra).toBe(5);
        expect(await Item.using('altering').rawQuery('select * from items where n = ?', [8], { prepare: true })).toHaveLength(1);
        const [figures] = await sessionFigures(connection, 1);
        expect(figures!.prepared).toBe(1);
        // The stale statement left the cache: the third run prepared the text anew.
        expect(connection.status().statements).toMatchObject({ prepared: 1, prepares: 2 });
      } finally {
        await connection.knex.schema.alterTable('items', (t) => t.dropColumn('extra'));
        await ConnectionManager.remove('altering');
      }
    });
  }
});
