import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { compileFixture } from './support/compile-fixture.js';
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  ActiveRecord,
  Column,
  ConfigError,
  ConnectionManager,
  Model,
  ModelDefinitionError,
  QueryError,
  SYNC_STATE_TABLE,
  ensureSyncStateTable,
  SyncJob,
  SyncJobAbortedError,
  SyncJobError,
  UnknownColumnError,
  type ConnectionConfig,
  type QueryEvent,
  type SyncJobOptions,
  type SyncJobProgress,
} from '../src/index.js';
import { createSourceTable, createTargetTable, mapPerson, Person, PersonCopy, type CopyRow } from './fixtures/sync-job-models.js';
import { DIALECTS, describeEachDialect, type DialectFixture } from './support/dialects.js';

const root = resolve(import.meta.dirname, '..');
const BASE = Date.parse('2024-03-01T12:00:00.000Z');
const sqlite = DIALECTS.find((d) => d.driver === 'sqlite')!;

let jobCounter = 0;
/** A job with the test mapping and a fresh name (so no test sees another's checkpoint). */
function makeJob(overrides: Partial<SyncJobOptions<Person, PersonCopy>> = {}): SyncJob<Person, PersonCopy> {
  return new SyncJob<Person, PersonCopy>({
    name: `job-${++jobCounter}`,
    source: Person,
    target: PersonCopy,
    map: mapPerson,
    conflictKeys: ['sourceId'],
    watermark: 'updatedAt',
    batchSize: 10,
    ...overrides,
  });
}

/** Inserts `count` people; row i gets `updatedAt` from `stamp(i)` (default: one second apart). */
async function seed(count: number, stamp: (i: number) => Date = (i) => new Date(BASE + i * 1000), model: typeof Person = Person, offset = 0): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => ({ email: `p${offset + i}@sync.io`, name: `Person ${offset + i}`, score: offset + i, updatedAt: stamp(i) }));
  await model.bulkInsert(rows);
}

/** What a clean sync of the source gives: mapped live rows, by sourceId. */
async function expected(model: typeof Person = Person): Promise<CopyRow[]> {
  const people = await model.query().orderBy('id').all();
  return people.filter((p) => p.deletedAt === null).map((p) => mapPerson(p) as CopyRow);
}

/** The target's mapped properties, by sourceId. */
async function actual(model: typeof PersonCopy = PersonCopy): Promise<CopyRow[]> {
  const copies = await model.query().orderBy('sourceId').all();
  return copies.map(({ sourceId, email, label, score }) => ({ sourceId, email, label, score }));
}

async function stateRow(connection: string, name: string): Promise<Record<string, unknown> | undefined> {
  const knex = ConnectionManager.get(connection).knex;
  if (!(await knex.schema.hasTable(SYNC_STATE_TABLE))) return undefined;
  return knex(SYNC_STATE_TABLE).where({ name }).first();
}

describe('SyncJob options', () => {
  it('are validated in the constructor, before any connection is looked up', () => {
    expect(ConnectionManager.has('sync_src')).toBe(false);
    expect(() => makeJob({ watermark: 'changedAt' as never })).toThrow(UnknownColumnError);
    expect(() => makeJob({ watermark: 'changedAt' as never })).toThrow(/Person has no column property "changedAt"/);
    expect(() => makeJob({ conflictKeys: ['sourceKey' as never] })).toThrow(UnknownColumnError);
    expect(() => makeJob({ conflictKeys: [] })).toThrow(ConfigError);
    expect(() => makeJob({ deletes: { softDeleteColumn: 'removedAt' as never } })).toThrow(UnknownColumnError);
    expect(() => makeJob({ batchSize: 0 })).toThrow(ConfigError);
    expect(() => makeJob({ batchSize: 2.5 })).toThrow(/batchSize/);
    expect(() => makeJob({ name: '' })).toThrow(ConfigError);
    expect(() => makeJob({ map: undefined as never })).toThrow(/map must be a function/);
    class NotAModel extends ActiveRecord {}
    expect(() => makeJob({ source: NotAModel as never })).toThrow(ModelDefinitionError);
    @Model({ connection: 'sync_src', table: 'flags' })
    class Flag extends ActiveRecord {
      @Column({ type: 'integer' }) id!: number;
      @Column({ type: 'boolean' }) on!: boolean;
    }
    expect(() => new SyncJob({ name: 'flags', source: Flag, target: PersonCopy, map: () => ({}), conflictKeys: ['sourceId'], watermark: 'on' })).toThrow(/watermark must be a datetime/);
    expect(ConnectionManager.has('sync_src')).toBe(false);
  });

  it('infers the source and target types from the models (and from using() views)', async () => {
    const job = new SyncJob({
      name: 'typed',
      source: Person,
      target: PersonCopy,
      map: (person) => {
        expectTypeOf(person).toEqualTypeOf<Person>();
        return { sourceId: person.id, email: person.email };
      },
      conflictKeys: ['sourceId'],
      watermark: 'updatedAt',
    });
    expect(job.name).toBe('typed');
    expect(() =>
      new SyncJob({
        name: 'typed',
        source: Person,
        target: PersonCopy,
        map: (person) => ({ sourceId: person.id }),
        conflictKeys: ['sourceId'],
        // @ts-expect-error: not a Person property
        watermark: 'changedAt',
      }),
    ).toThrow(UnknownColumnError);

    // A using() view types like its class (map() receives a Person, checked by typecheck), and the
    // job built from views runs on the views' connections.
    // using() needs configured connections: two SQLite files, under names no other suite uses, removed again.
    const provisioned = await sqlite.provision(2);
    ConnectionManager.configure('typed_src', provisioned.configs[0]!);
    ConnectionManager.configure('typed_dst', provisioned.configs[1]!);
    try {
      await createSourceTable(ConnectionManager.get('typed_src').knex);
      await createTargetTable(ConnectionManager.get('typed_dst').knex);
      await seed(3, undefined, Person.using('typed_src'));
      const mapped: unknown[] = [];
      const viaViews = new SyncJob({
        name: 'v',
        source: Person.using('typed_src'),
        target: PersonCopy.using('typed_dst'),
        map: (p) => {
          expectTypeOf(p).toEqualTypeOf<Person>();
          mapped.push(p);
          return mapPerson(p);
        },
        conflictKeys: ['sourceId'],
        watermark: 'updatedAt',
      });
      expect(await viaViews.run()).toMatchObject({ processed: 3, inserted: 3, updated: 0 });
      expect(mapped.map((p) => [p instanceof Person, (p as Person).email])).toEqual([
        [true, 'p0@sync.io'],
        [true, 'p1@sync.io'],
        [true, 'p2@sync.io'],
      ]);
      expect(await actual(PersonCopy.using('typed_dst'))).toEqual(await expected(Person.using('typed_src')));
      expect(() =>
        new SyncJob({
          name: 'v',
          source: Person.using('typed_src'),
          target: PersonCopy.using('typed_dst'),
          map: (p) => ({ sourceId: p.id }),
          conflictKeys: ['sourceId'],
          // @ts-expect-error: not a Person property, through a view as well
          watermark: 'changedAt',
        }),
      ).toThrow(UnknownColumnError);
    } finally {
      await ConnectionManager.remove('typed_src');
      await ConnectionManager.remove('typed_dst');
      await provisioned.drop();
    }
  });
});

// ---- crash test plumbing -------------------------------------------------------

let childScript: string | undefined;

/** Compiles the child fixture (and src) once. */
function compileChild(): string {
  return (childScript ??= compileFixture('test/fixtures/sync-job-child.ts'));
}

interface ChildRun {
  /** Whether the child printed its result (finished the job) before it ended. */
  done: boolean;
  lines: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the child; with `killAfterBatches`, SIGKILLs it as soon as it reports that many finished batches (0: at "ready"). */
function runChild(input: object, killAfterBatches?: number): Promise<ChildRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [compileChild(), JSON.stringify(input)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buffer = '';
    let stderr = '';
    let batches = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (line.startsWith('batch ')) batches++;
        if (killAfterBatches !== undefined && (line === 'ready' || line.startsWith('batch ')) && batches >= killAfterBatches) child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolvePromise({ done: lines.some((l) => l.startsWith('{')), lines, code, signal, stderr });
    });
  });
}

// ---- behaviour on every dialect, in both directions --------------------------------

describeEachDialect('SyncJob', (dialect) => {
  for (const direction of ['from', 'to'] as const) {
    // "from": the dialect is the source and SQLite the target; "to": the reverse.
    const [sourceSide, targetSide]: DialectFixture[] = direction === 'from' ? [dialect, sqlite] : [sqlite, dialect];
    describe(`${sourceSide.driver} → ${targetSide.driver}`, () => {
      const configs: Record<string, ConnectionConfig> = {};
      const drops: Array<() => Promise<void>> = [];

      beforeAll(async () => {
        const source = await sourceSide.provision(2);
        drops.push(source.drop);
        const target = await targetSide.provision(2);
        drops.push(target.drop);
        // The state connection is a third database, on the source's side; sync_alt is a second target-side database.
        Object.assign(configs, { sync_src: source.configs[0]!, sync_state: source.configs[1]!, sync_dst: target.configs[0]!, sync_alt: target.configs[1]! });
        for (const [name, config] of Object.entries(configs)) ConnectionManager.configure(name, config);
      });

      afterAll(async () => {
        for (const name of Object.keys(configs)) if (ConnectionManager.has(name)) await ConnectionManager.remove(name);
        for (const drop of drops) await drop();
      });

      beforeEach(async () => {
        await createSourceTable(ConnectionManager.get('sync_src').knex);
        await createTargetTable(ConnectionManager.get('sync_dst').knex);
      });

      it('a clean run copies everything, in batches, reporting progress', async () => {
        await seed(57);
        const progress: SyncJobProgress[] = [];
        const job = makeJob();
        const result = await job.run({ onProgress: (p) => void progress.push(p) });
        expect(result).toMatchObject({ processed: 57, upserted: 57, inserted: 57, updated: 0, deleted: 0, batches: 6 });
        expect(result.durationMs).toBeGreaterThan(0);
        expect(await actual()).toEqual(await expected());
        expect(progress.map((p) => p.processed)).toEqual([10, 20, 30, 40, 50, 57]);
        expect(progress.map((p) => p.batch)).toEqual([1, 2, 3, 4, 5, 6]);
        expect(progress.every((p) => p.total === 57 && p.rate > 0)).toBe(true);
        const last = await Person.query().orderBy('id', 'desc').first();
        expect(result.checkpoint).toMatchObject({ name: job.name, lastKey: last!.id, rowsProcessed: 57 });
        expect((result.checkpoint!.watermark as Date).getTime()).toBe(last!.updatedAt.getTime());
        expect(await job.checkpoint()).toMatchObject({ lastKey: last!.id, rowsProcessed: 57 });
        // The checkpoint lives on the target's connection by default.
        expect(await stateRow('sync_dst', job.name)).toMatchObject({ last_key: `number:${last!.id}` });
      });

      it('a second run copies only the rows that changed since the checkpoint', async () => {
        await seed(30);
        const job = makeJob();
        expect((await job.run()).processed).toBe(30);

        const changed = await Person.whereIn('id', [3, 11, 12, 29]).all();
        for (const person of changed) {
          person.name = `${person.name} (renamed)`;
          await person.save();
        }
        await Person.create({ email: 'new1@sync.io', name: 'New 1', score: 100 });
        await Person.create({ email: 'new2@sync.io', name: 'New 2', score: 101 });

        const second = await job.run();
        expect(second).toMatchObject({ processed: 6, inserted: 2, updated: 4, batches: 1 });
        expect(await actual()).toEqual(await expected());

        const third = await job.run();
        expect(third).toMatchObject({ processed: 0, batches: 0 });
        expect(third.checkpoint).toEqual(second.checkpoint);
      });

      it('equal watermarks across batch boundaries are neither skipped nor repeated', async () => {
        const same = new Date(BASE);
        await seed(25, () => same);
        const sizes: number[] = [];
        const job = makeJob({ batchSize: 10 });
        const first = await job.run({ onProgress: (p) => void sizes.push(p.batchRows) });
        expect(sizes).toEqual([10, 10, 5]);
        expect(first).toMatchObject({ processed: 25, inserted: 25, updated: 0, batches: 3 });
        expect(await PersonCopy.count()).toBe(25);

        // More rows with the very same timestamp, after the checkpoint's key: picked up, alone.
        await seed(3, () => same, Person, 25);
        const second = await job.run();
        expect(second).toMatchObject({ processed: 3, inserted: 3, updated: 0 });
        expect(await actual()).toEqual(await expected());
      });

      it('rows with a non-null soft-delete property are deleted from the target, and still advance the checkpoint', async () => {
        await seed(20);
        const job = makeJob({ deletes: { softDeleteColumn: 'deletedAt' } });
        await job.run();
        expect(await PersonCopy.count()).toBe(20);

        for (const person of await Person.whereIn('id', [2, 5, 6, 19, 20]).all()) {
          person.deletedAt = new Date();
          await person.save();
        }
        // Deleted before it was ever synced: nothing to delete, no error.
        await Person.create({ email: 'ghost@sync.io', name: 'Ghost', score: 0, deletedAt: new Date() });

        const result = await job.run();
        expect(result).toMatchObject({ processed: 6, upserted: 0, deleted: 5 });
        expect(result.checkpoint!.lastKey).toBe(21);
        expect(await PersonCopy.count()).toBe(15);
        expect(await actual()).toEqual(await expected());

        // Undeleted: comes back.
        const back = (await Person.find(5))!;
        back.deletedAt = null;
        await back.save();
        expect(await job.run()).toMatchObject({ processed: 1, inserted: 1, deleted: 0 });
        expect(await actual()).toEqual(await expected());
      });

      it('composite conflict keys upsert and delete by the whole key (inserted/updated are not counted)', async () => {
        await seed(12);
        const job = makeJob({ conflictKeys: ['sourceId', 'email'], deletes: { softDeleteColumn: 'deletedAt' }, batchSize: 5 });
        const first = await job.run();
        expect(first).toMatchObject({ processed: 12, upserted: 12, inserted: undefined, updated: undefined });
        await Person.where('id', '<=', 3).update({ deletedAt: new Date(), updatedAt: new Date() });
        expect(await job.run()).toMatchObject({ processed: 3, deleted: 3 });
        expect(await actual()).toEqual(await expected());
      });

      it('stops between batches when aborted, after checkpointing, and the next run resumes', async () => {
        await seed(45);
        const job = makeJob({ batchSize: 10 });
        const controller = new AbortController();
        const error = await job
          .run({ signal: controller.signal, onProgress: (p) => (p.batch === 2 ? controller.abort() : undefined) })
          .then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(SyncJobAbortedError);
        expect((error as Error).name).toBe('AbortError');
        expect((error as SyncJobAbortedError).result).toMatchObject({ processed: 20, batches: 2 });
        expect(await job.checkpoint()).toMatchObject({ rowsProcessed: 20 });
        expect(await PersonCopy.count()).toBe(20);

        const totals: Array<number | undefined> = [];
        const resumed = await job.run({ signal: new AbortController().signal, onProgress: (p) => void totals.push(p.total) });
        expect(resumed).toMatchObject({ processed: 25, inserted: 25, updated: 0 });
        expect(totals[0]).toBe(25);
        expect(await actual()).toEqual(await expected());

        // Already aborted: rejects before touching anything.
        const fresh = makeJob();
        await expect(fresh.run({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
        expect(await fresh.checkpoint()).toBeNull();
      });

      it('keeps its checkpoint on a separate state connection; reset() starts over', async () => {
        await seed(15);
        const job = makeJob({ stateConnection: 'sync_state', batchSize: 4 });
        expect(await job.run()).toMatchObject({ processed: 15, batches: 4 });
        expect(await stateRow('sync_state', job.name)).toMatchObject({ last_key: 'number:15' });
        expect(await stateRow('sync_dst', job.name)).toBeUndefined();

        await Person.whereIn('id', [1, 2]).update({ score: 77, updatedAt: new Date() });
        expect(await job.run()).toMatchObject({ processed: 2, updated: 2, inserted: 0 });
        expect(await actual()).toEqual(await expected());

        expect(await job.reset()).toBe(true);
        expect(await job.checkpoint()).toBeNull();
        expect(await job.run()).toMatchObject({ processed: 15, updated: 15, inserted: 0 });
        expect(await actual()).toEqual(await expected());
      });

      it('using() views decide the connections, for the source and for the target (and the default state)', async () => {
        await createSourceTable(ConnectionManager.get('sync_alt').knex);
        await createTargetTable(ConnectionManager.get('sync_alt').knex);
        await seed(7, undefined, Person.using('sync_alt'));
        await seed(4);

        // Source view: reads sync_alt's people into the class's target (sync_dst).
        const fromView = makeJob({ source: Person.using('sync_alt') });
        expect(await fromView.run()).toMatchObject({ processed: 7 });
        expect(await actual()).toEqual(await expected(Person.using('sync_alt')));

        // Target view: writes sync_src's people into sync_alt; the checkpoint goes there too.
        const toView = makeJob({ target: PersonCopy.using('sync_alt') });
        expect(await toView.run()).toMatchObject({ processed: 4, inserted: 4 });
        expect(await actual(PersonCopy.using('sync_alt'))).toEqual(await expected());
        expect(await stateRow('sync_alt', toView.name)).toBeDefined();
        expect(await stateRow('sync_dst', toView.name)).toBeUndefined();
      });

      it('refuses to run inside a transaction, or twice at once in one process', async () => {
        await seed(30);
        const job = makeJob({ batchSize: 5 });
        await expect(ConnectionManager.transaction('sync_dst', () => job.run())).rejects.toThrow(/inside a transaction on "sync_dst"/);
        const [a, b] = await Promise.allSettled([job.run(), job.run()]);
        expect(a.status).toBe('fulfilled');
        expect(b.status).toBe('rejected');
        expect((b as PromiseRejectedResult).reason).toBeInstanceOf(SyncJobError);
        expect(await actual()).toEqual(await expected());
      });

      it('reads the next source page while the current batch is written, and drops it when the run stops', async () => {
        await seed(25);
        const source = ConnectionManager.get('sync_src').name;
        const pages: string[] = [];
        const listener = (event: QueryEvent) => {
          if (event.connection === source && /order by/i.test(event.sql)) pages.push(event.sql);
        };
        ConnectionManager.default.events.on('query', listener);
        try {
          const seenAtProgress: number[] = [];
          const result = await makeJob({ batchSize: 10 }).run({
            onProgress: async (p) => {
              // After a full batch, the next page was asked for before the batch committed: it arrives while the job waits here.
              const wanted = p.batchRows === 10 ? p.batch + 1 : p.batch;
              for (let waited = 0; pages.length < wanted && waited < 5_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
              seenAtProgress.push(pages.length);
            },
          });
          expect(result).toMatchObject({ processed: 25, batches: 3 });
          // Pages 1 and 2 were read by the end of batch 1, page 3 by the end of batch 2; the short page 3 ends the run.
          expect(seenAtProgress).toEqual([2, 3, 3]);
          expect(pages).toHaveLength(3);
          expect(await actual()).toEqual(await expected());

          // Stopped after batch 1: the page read ahead is dropped and nothing of it is written.
          pages.length = 0;
          const controller = new AbortController();
          const stopped = await makeJob({ batchSize: 10 })
            .run({ signal: controller.signal, onProgress: () => controller.abort() })
            .then(() => undefined, (e: unknown) => e);
          expect(stopped).toBeInstanceOf(SyncJobAbortedError);
          expect((stopped as SyncJobAbortedError).result).toMatchObject({ processed: 10, batches: 1 });
        } finally {
          ConnectionManager.default.events.off('query', listener);
        }
      });

      it('a batch that fails in the target rolls back with its checkpoint; fixed, the job resumes there', async () => {
        await seed(15);
        const broken = makeJob({ batchSize: 5, map: (p) => ({ ...mapPerson(p), label: p.id === 8 ? (null as never) : mapPerson(p).label }) });
        await expect(broken.run()).rejects.toBeInstanceOf(QueryError);
        // The checkpoint was written first in the failed batch's transaction: it rolled back too.
        expect(await broken.checkpoint()).toMatchObject({ rowsProcessed: 5, lastKey: 5 });
        expect(await PersonCopy.count()).toBe(5);

        const fixed = makeJob({ name: broken.name, batchSize: 5 });
        expect(await fixed.run()).toMatchObject({ processed: 10, inserted: 10 });
        expect(await actual()).toEqual(await expected());
      });

      it('ensureSyncStateTable() is idempotent, also when raced', async () => {
        const knex = ConnectionManager.get('sync_alt').knex;
        await knex.schema.dropTableIfExists(SYNC_STATE_TABLE);
        await Promise.all([ensureSyncStateTable('sync_alt'), ensureSyncStateTable('sync_alt')]);
        await ensureSyncStateTable('sync_alt');
        expect(await knex.schema.hasTable(SYNC_STATE_TABLE)).toBe(true);
        expect(await knex(SYNC_STATE_TABLE).count({ n: '*' })).toEqual([{ n: expect.anything() }]);
      });

      it('a mapping without its conflict key stops the run before anything is written', async () => {
        await seed(5);
        const job = makeJob({ map: (p) => ({ email: p.email, label: 'no key', score: 0 }) });
        await expect(job.run()).rejects.toThrow(/map\(\) gave no value for conflict key PersonCopy.sourceId \(for Person id=1\)/);
        expect(await PersonCopy.count()).toBe(0);
        expect(await job.checkpoint()).toBeNull();
      });

      it('resumes from a checkpoint in the older form (the Date alone), then stores the exact form', async () => {
        await seed(12);
        const job = makeJob({ batchSize: 5 });
        await job.run();
        expect((await stateRow('sync_dst', job.name))!.watermark).toMatch(/^datetext:2024-03-01T12:00:11\.000Z\|/);
        // As a checkpoint written before the database's text was kept: after row 5.
        const fifth = (await Person.find(5))!;
        await ConnectionManager.get('sync_dst').knex(SYNC_STATE_TABLE).where({ name: job.name }).update({ watermark: `date:${fifth.updatedAt.toISOString()}`, last_key: 'number:5' });
        const result = await job.run();
        expect(result).toMatchObject({ processed: 7, updated: 7, checkpoint: { lastKey: 12, rowsProcessed: 19 } });
        expect((await stateRow('sync_dst', job.name))!.watermark).toMatch(/^datetext:/);
        expect(await actual()).toEqual(await expected());
        expect((await job.run()).processed).toBe(0);
      });

      it('a date column holding something the database does not give as text (a number, on SQLite) stops the job', async () => {
        if (sourceSide.driver !== 'sqlite') return;
        await seed(3);
        await ConnectionManager.get('sync_src').knex('sync_people').where('id', 2).update({ updated_at: BASE + 1500 });
        const error = await makeJob({ batchSize: 1 }).run().then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(SyncJobError);
        expect((error as Error).message).toMatch(/Person\.updatedAt of id=2 is stored as number/);
      });

      it('killed with SIGKILL at random moments, it resumes and ends identical to a clean run', async () => {
        // Groups of 5 rows share a timestamp; every 11th row is soft-deleted.
        // Each run is killed when it reports a random batch (from startup to its 40th batch): with ~860
        // batches to do, the kills land mid-run whatever the machine's speed.
        const count = 6000;
        await Person.bulkInsert(
          Array.from({ length: count }, (_, i) => ({
            email: `c${i}@sync.io`,
            name: `Crash ${i}`,
            score: i,
            updatedAt: new Date(BASE + Math.floor(i / 5) * 1000),
            deletedAt: i % 11 === 0 ? new Date(BASE) : null,
          })),
        );
        // Stale copies of some rows already in the target (some of them deleted at the source).
        await PersonCopy.bulkInsert(Array.from({ length: Math.ceil(count / 13) }, (_, j) => ({ sourceId: j * 13 + 1, email: `c${j * 13}@sync.io`, label: 'stale', score: -1 })));

        // "from": checkpoint on the target (commits with the batch); "to": on a separate connection.
        const input = { connections: configs, name: `crash-${direction}`, batchSize: 7, stateConnection: direction === 'to' ? 'sync_state' : undefined };
        const log: string[] = [];
        let interrupted = 0;
        for (let kill = 0; kill < 5; kill++) {
          const afterBatches = Math.floor(Math.random() * 41);
          const run = await runChild(input, afterBatches);
          log.push(`killed after batch ${afterBatches} of the run: ${run.done ? 'had finished' : `at ${run.lines.filter((l) => l.startsWith('batch')).at(-1) ?? 'startup'}`}`);
          if (!run.done) {
            expect(run.signal, `child ended by itself (${log.join('; ')}): ${run.stderr}`).toBe('SIGKILL');
            interrupted++;
          }
        }
        const final = await runChild(input);
        expect(final.code, `final run failed (${log.join('; ')}): ${final.stderr}`).toBe(0);
        const summary = JSON.parse(final.lines.find((l) => l.startsWith('{'))!) as { done: boolean; rowsProcessed: number };
        expect(summary.done).toBe(true);
        expect(interrupted, log.join('; ')).toBeGreaterThan(0);
        // The checkpoint counts each source row once: a batch replayed after a kill was never checkpointed before.
        expect(summary.rowsProcessed).toBe(count);

        const rows = await actual();
        expect(new Set(rows.map((r) => r.sourceId)).size).toBe(rows.length);
        expect(rows).toEqual(await expected());
        expect(rows.length).toBe(count - Math.ceil(count / 11));
      }, 120_000);
    });
  }
});
