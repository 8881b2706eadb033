import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectionManager, SYNC_STATE_TABLE, SyncJob, SyncJobAbortedError, type SyncJobOptions } from '../src/index.js';
import { createSourceTable, createTargetTable, mapPerson, Person, PersonCopy } from './fixtures/sync-job-models.js';
import { describeEachDialect } from './support/dialects.js';

const BASE = Date.parse('2026-02-01T00:00:00.000Z');

// Dry runs, filters, status() and the last run a job records, on every dialect as source and target.
describeEachDialect('SyncJob dry run, filter, status and last run', (dialect) => {
  const [src, dst] = [`status_src_${dialect.driver}`, `status_dst_${dialect.driver}`];
  let drop: () => Promise<void>;
  let counter = 0;
  const job = (overrides: Partial<SyncJobOptions<Person, PersonCopy>> = {}) =>
    new SyncJob<Person, PersonCopy>({ name: `status-${++counter}`, source: Person.using(src), target: PersonCopy.using(dst), map: mapPerson, conflictKeys: ['sourceId'], watermark: 'updatedAt', batchSize: 10, ...overrides });
  const stateTable = () => ConnectionManager.get(dst).knex.schema.hasTable(SYNC_STATE_TABLE);

  beforeAll(async () => {
    const provisioned = await dialect.provision(2);
    drop = provisioned.drop;
    ConnectionManager.configure(src, provisioned.configs[0]!);
    ConnectionManager.configure(dst, provisioned.configs[1]!);
    await createSourceTable(ConnectionManager.get(src).knex);
    await createTargetTable(ConnectionManager.get(dst).knex);
    await Person.using(src).bulkInsert(Array.from({ length: 25 }, (_, i) => ({ email: `s${i}@status.io`, name: `S ${i}`, score: i, updatedAt: new Date(BASE + i * 1000) })));
  });
  afterAll(async () => {
    await ConnectionManager.remove(src);
    await ConnectionManager.remove(dst);
    await drop();
  });

  it('a dry run reads and maps every row, and writes nothing, not even the state table', async () => {
    const seen: number[] = [];
    const result = await job().run({ dryRun: true, batchSize: 7, onProgress: (p) => void seen.push(p.checkpoint.lastKey as number) });
    expect(result).toMatchObject({ dryRun: true, processed: 25, upserted: 25, inserted: undefined, updated: undefined, deleted: 0, batches: 4, checkpoint: null });
    expect(seen).toEqual([7, 14, 21, 25]);
    expect(await PersonCopy.using(dst).count()).toBe(0);
    expect(await stateTable()).toBe(false);
  });

  it('status() reads a table from before the last-run columns; the next run adds them and records itself', async () => {
    const { knex } = ConnectionManager.get(dst);
    // The state table as earlier versions created it, with a checkpoint at the 20th row.
    await knex.schema.createTable(SYNC_STATE_TABLE, (t) => {
      t.string('name', 191).primary();
      t.text('watermark').notNullable();
      t.text('last_key').notNullable();
      t.bigInteger('rows_processed').notNullable().defaultTo(0);
      t.datetime('updated_at', { precision: 3 }).notNullable();
    });
    const old = job();
    await knex(SYNC_STATE_TABLE).insert({ name: old.name, watermark: `date:${new Date(BASE + 19_000).toISOString()}`, last_key: 'number:20', rows_processed: 20, updated_at: new Date() });
    expect(await old.status()).toEqual({ name: old.name, checkpoint: expect.objectContaining({ lastKey: 20, rowsProcessed: 20 }), lastRun: undefined, lag: { rows: 5, newestWatermark: new Date(BASE + 24_000), milliseconds: 5000 } });

    const started = new Date();
    expect(await old.run()).toMatchObject({ processed: 5 });
    const after = await old.status();
    expect(after).toMatchObject({ checkpoint: { lastKey: 25, rowsProcessed: 25 }, lag: { rows: 0, newestWatermark: undefined, milliseconds: undefined }, lastRun: { rows: 5, outcome: 'completed', error: undefined } });
    expect(after.lastRun!.startedAt.getTime()).toBeGreaterThanOrEqual(started.getTime() - 1000);
    expect(after.lastRun!.finishedAt!.getTime()).toBeGreaterThanOrEqual(after.lastRun!.startedAt.getTime());
  });

  it('a failed run records its error; rows it committed count', async () => {
    const failing = job({ map: (person) => (person.score === 15 ? (null as never) : mapPerson(person)) });
    await expect(failing.run()).rejects.toThrow(/map\(\) must return an object/);
    expect(await failing.status()).toMatchObject({ checkpoint: { lastKey: 10 }, lag: { rows: 15 }, lastRun: { rows: 10, outcome: 'failed', error: expect.stringContaining('map() must return an object') } });
  });

  it('an abort the event loop delivers (a timer, a signal handler) stops the run after the batch, also where SQLite answers synchronously', async () => {
    const controller = new AbortController();
    const stopped = job().run({ signal: controller.signal, batchSize: 2, onProgress: () => void setImmediate(() => controller.abort('stop')) });
    await expect(stopped).rejects.toThrow(SyncJobAbortedError);
    await expect(stopped).rejects.toMatchObject({ cause: 'stop', result: { processed: 2, batches: 1 } });
  });

  it('filter narrows the rows read, counted and behind', async () => {
    const low = job({ filter: (query) => query.whereRaw('score < ?', [12]) });
    expect((await low.status()).lag.rows).toBe(12);
    expect(await low.run()).toMatchObject({ processed: 12, batches: 2 });
    expect(await low.status()).toMatchObject({ checkpoint: { lastKey: 12 }, lag: { rows: 0 }, lastRun: { outcome: 'completed', rows: 12 } });
  });
});
