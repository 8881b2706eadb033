import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, SyncJob, modelMetadata } from '../src/index.js';
import { Person, PersonCopy, createSourceTable, createTargetTable, mapPerson } from './fixtures/sync-job-models.js';
import { describeEachDialect } from './support/dialects.js';

@Model({ connection: 'primary', table: 'listed' })
class Listed extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) code!: string;
  @Column({ type: 'bigint' }) big!: bigint;
  @Column({ type: 'datetime' }) at!: Date;
  @Column({ type: 'boolean' }) flag!: boolean;
}

const ROWS = 2_000;
const BASE = 9_007_199_254_740_000n; // above 2^53: a rounded bigint would miss
const at = (i: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, i, i % 1000));
const ids = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describeEachDialect('whereIn with lists of any length', (dialect) => {
  let drops: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    const provisioned = await dialect.provision(2);
    drops = [provisioned.drop];
    ConnectionManager.configure('primary', provisioned.configs[0]!);
    ConnectionManager.configure('sync_src', provisioned.configs[0]!);
    ConnectionManager.configure('sync_dst', provisioned.configs[1]!);
    await ConnectionManager.get('primary').knex.schema.createTable('listed', (t) => {
      t.increments('id');
      t.string('code', 32).notNullable();
      t.bigInteger('big').notNullable();
      t.datetime('at', { precision: 3 }).notNullable();
      t.boolean('flag').notNullable();
    });
    await Listed.bulkInsert(ids(0, ROWS).map((i) => ({ code: `c${i}`, big: BASE + BigInt(i), at: at(i), flag: i % 2 === 0 })));
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  });

  it('1,000,000 ids in whereIn and whereNotIn (count, all, delete inside a transaction)', async () => {
    const million = ids(1, 1_000_000);
    expect(await Listed.whereIn('id', million).count()).toBe(ROWS);
    expect(await Listed.whereNotIn('id', million).count()).toBe(0);
    const evens = million.filter((i) => i % 2 === 0);
    expect(await Listed.whereNotIn('id', evens).count()).toBe(ROWS / 2);
    const found = await Listed.whereIn('id', evens).orderBy('id').all();
    expect(found.map((r) => r.id)).toEqual(ids(1, ROWS).filter((i) => i % 2 === 0));
    await expect(
      ConnectionManager.transaction('primary', async () => {
        expect(await Listed.whereIn('id', evens).delete()).toBe(ROWS / 2);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await Listed.count()).toBe(ROWS);
  }, 120_000);

  it('the sizes that used to overrun placeholder limits: 16,385, 32,767, 32,769, 65,536, 100,000', async () => {
    for (const size of [16_385, 32_767, 32_769, 65_536, 100_000]) {
      expect(await Listed.whereIn('id', ids(ROWS - 9, size)).count(), `size ${size}`).toBe(10);
      expect(await Listed.whereNotIn('id', ids(ROWS - 9, size)).count(), `not, size ${size}`).toBe(ROWS - 10);
    }
  }, 60_000);

  it('long lists of strings, 64-bit integers, datetimes and booleans compare like short ones', async () => {
    const codes = [...ids(0, 1_500).map((i) => `c${i * 3}`), ...ids(0, 3_000).map((i) => `missing${i}`)];
    expect(await Listed.whereIn('code', codes).count()).toBe(667); // c0, c3, … c1998
    const bigs = ids(0, 5_000).map((i) => BASE + BigInt(i * 2));
    expect(await Listed.whereIn('big', bigs).count()).toBe(ROWS / 2);
    expect(await Listed.whereIn('big', [...bigs.slice(0, 2_000), BASE + 1n].slice(-1_500)).count()).toBe(500);
    const times = ids(0, 1_100).map((i) => at(i * 2));
    expect(await Listed.whereIn('at', times).count()).toBe(1_000);
    expect(await Listed.whereIn('flag', Array.from({ length: 2_000 }, () => true)).count()).toBe(ROWS / 2);
  });

  it('a short and a long list agree, and long lists of any length share one statement shape', async () => {
    const short = ids(5, 700);
    const long = [...short, ...ids(1_000_000, 700)];
    expect(await Listed.whereIn('id', long).count()).toBe(await Listed.whereIn('id', short).count());
    const shapes = modelMetadata(Listed)!.statements[dialect.driver];
    await Listed.whereIn('id', ids(1, 1_025)).count();
    const before = shapes.size;
    for (let extra = 0; extra < 40; extra++) expect(await Listed.whereIn('id', ids(1, 1_100 + extra * 997)).count()).toBe(Math.min(ROWS, 1_100 + extra * 997));
    expect(shapes.size).toBe(before);
  });

  it('SyncJob runs at the largest batchSize it accepts', async () => {
    await createSourceTable(ConnectionManager.get('sync_src').knex);
    await createTargetTable(ConnectionManager.get('sync_dst').knex);
    const rows = 100_500;
    const stamp = new Date(Date.UTC(2025, 0, 1));
    await Person.bulkInsert(ids(1, rows).map((i) => ({ email: `p${i}@e.io`, name: `P${i}`, score: i, updatedAt: stamp, deletedAt: null })));
    const job = new SyncJob<Person, PersonCopy>({ name: 'largest', source: Person, target: PersonCopy, map: mapPerson, conflictKeys: ['sourceId'], watermark: 'updatedAt', batchSize: 100_000 });
    const first = await job.run();
    expect(first).toMatchObject({ inserted: rows, updated: 0 });
    expect(await PersonCopy.count()).toBe(rows);
    await Person.query().update({ updatedAt: new Date(Date.UTC(2025, 0, 2)) });
    const second = await job.run();
    expect(second).toMatchObject({ inserted: 0, updated: rows });
  }, 300_000);
});
