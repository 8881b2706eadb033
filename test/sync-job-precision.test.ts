// SyncJob on timestamps finer than a JS Date: every row exactly once per change, whatever the column's precision.
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionManager, SyncJob, type ConnectionConfig } from '../src/index.js';
import { createSourceTable, createTargetTable, mapPerson, Person, PersonCopy, type CopyRow } from './fixtures/sync-job-models.js';
import { DIALECTS, describeEachDialect, type DialectFixture } from './support/dialects.js';

const sqlite = DIALECTS.find((d) => d.driver === 'sqlite')!;

/** A watermark column type, and how to write `2024-03-01 12:00:<seconds>` as text it stores exactly. */
interface Variant {
  readonly title: string;
  column(t: Knex.CreateTableBuilder): void;
  text(seconds: string): string;
}

const VARIANTS: Record<string, Variant[]> = {
  sqlite: [{ title: 'ISO text', column: (t) => t.text('updated_at'), text: (s) => `2024-03-01T12:00:${s}Z` }],
  postgresql: [
    { title: 'timestamptz', column: (t) => t.specificType('updated_at', 'timestamptz'), text: (s) => `2024-03-01 12:00:${s}+00` },
    { title: 'timestamp', column: (t) => t.specificType('updated_at', 'timestamp'), text: (s) => `2024-03-01 12:00:${s}` },
  ],
  mysql: [{ title: 'DATETIME(6)', column: (t) => t.datetime('updated_at', { precision: 6 }), text: (s) => `2024-03-01 12:00:${s}` }],
};

/**
 * Second fractions of the seeded rows: 7 one microsecond apart, 9 sharing one microsecond, 8 in one millisecond (two
 * of them sharing a microsecond), in an order unlike their watermarks', so keys and watermarks do not sort alike.
 */
const FRACTIONS = [
  ...['01.123401', '01.123402', '01.123403', '01.123404', '01.123405', '01.123406', '01.123407'],
  ...Array.from({ length: 9 }, () => '02.200001'),
  ...['03.300999', '03.300000', '03.300500', '03.300001', '03.300500', '03.300998', '03.300002', '03.300003'],
].reverse();

async function expected(): Promise<CopyRow[]> {
  return (await Person.query().orderBy('id').all()).map((p) => mapPerson(p) as CopyRow);
}

async function actual(): Promise<CopyRow[]> {
  return (await PersonCopy.query().orderBy('sourceId').all()).map(({ sourceId, email, label, score }) => ({ sourceId, email, label, score }));
}

let jobCounter = 0;

describeEachDialect('SyncJob precision', (dialect) => {
  for (const direction of ['from', 'to'] as const) {
    const [sourceSide, targetSide]: DialectFixture[] = direction === 'from' ? [dialect, sqlite] : [sqlite, dialect];
    if (direction === 'to' && dialect === sqlite) continue;
    describe(`${sourceSide.driver} → ${targetSide.driver}`, () => {
      const names: string[] = [];
      const drops: Array<() => Promise<void>> = [];

      beforeAll(async () => {
        const source = await sourceSide.provision(1);
        drops.push(source.drop);
        const target = await targetSide.provision(1);
        drops.push(target.drop);
        const configs: Record<string, ConnectionConfig> = { sync_src: source.configs[0]!, sync_dst: target.configs[0]! };
        for (const [name, config] of Object.entries(configs)) ConnectionManager.configure(name, config);
        names.push(...Object.keys(configs));
      });

      afterAll(async () => {
        for (const name of names) if (ConnectionManager.has(name)) await ConnectionManager.remove(name);
        for (const drop of drops) await drop();
      });

      /** Seeds one source row per fraction and syncs them: each row applied once, the target equal to the source, then nothing left. */
      async function seedAndSync(variant: Variant, fractions: readonly string[], batchSize: number): Promise<{ job: SyncJob<Person, PersonCopy>; knex: Knex }> {
        const knex = ConnectionManager.get('sync_src').knex;
        await createSourceTable(knex, variant.column);
        await createTargetTable(ConnectionManager.get('sync_dst').knex);
        await knex.batchInsert('sync_people', fractions.map((s, i) => ({ email: `p${i}@sync.io`, name: `P${i}`, score: i, updated_at: variant.text(s) })), 200);
        const job = new SyncJob({ name: `precision-${++jobCounter}`, source: Person, target: PersonCopy, map: mapPerson, conflictKeys: ['sourceId'], watermark: 'updatedAt', batchSize });

        const seen: number[] = [];
        const first = await job.run({ onProgress: (p) => void seen.push(p.batchRows) });
        expect(first.processed).toBe(fractions.length);
        expect(seen.reduce((a, b) => a + b, 0)).toBe(fractions.length);
        expect(first.checkpoint!.rowsProcessed).toBe(fractions.length);
        expect(await actual()).toEqual(await expected());
        expect((await job.run()).processed).toBe(0);
        return { job, knex };
      }

      for (const variant of VARIANTS[sourceSide.driver]!) {
        for (const batchSize of [2, 3, 4, 7]) {
          it(`${variant.title}: rows 1 µs apart and sharing a millisecond or a microsecond, batches of ${batchSize}, each row once per change`, async () => {
            const { job, knex } = await seedAndSync(variant, FRACTIONS, batchSize);

            // Changed rows, again sharing one microsecond and 1 µs apart, later than everything: each once more.
            const later = ['04.500001', '04.500001', '04.500001', '04.500002', '04.500003'];
            for (const [i, s] of later.entries()) await knex('sync_people').where('id', 3 + i * 4).update({ name: `changed ${i}`, updated_at: variant.text(s) });
            const second = await job.run();
            expect(second.processed).toBe(later.length);
            expect(await actual()).toEqual(await expected());
            const third = await job.run();
            expect(third.processed).toBe(0);
            expect(third.checkpoint!.rowsProcessed).toBe(FRACTIONS.length + later.length);
          });
        }

        // About 59 rows per millisecond, fewer than a batch: a millisecond cursor would re-read rows rather than stall.
        it(`${variant.title}: 1,000 rows 17 µs apart in batches of 64 are 1,000 rows processed`, async () => {
          await seedAndSync(variant, Array.from({ length: 1000 }, (_, i) => `05.${String(100_000 + 17 * i)}`), 64);
        });
      }
    });
  }
});
