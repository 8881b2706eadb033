import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, ValidationError } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

@Model({ connection: 'primary', table: 'docs' })
class Doc extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'json' }) doc!: unknown;
  @Column({ type: 'date' }) day!: Date | null;
  @Column({ type: 'datetime' }) at!: Date | null;
}

/** `depth` arrays nested in one another around a scalar. */
const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};

describeEachDialect('values that must round-trip exactly', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('primary', provisioned.configs[0]!);
    await ConnectionManager.get('primary').knex.schema.createTable('docs', (t) => {
      t.increments('id');
      t.json('doc');
      t.date('day');
      t.datetime('at', { precision: 3 });
    });
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });
  beforeEach(async () => {
    await ConnectionManager.get('primary').knex('docs').delete();
  });

  it('JSON values come back exactly as written, JSON strings that look like JSON included', async () => {
    const values: unknown[] = ['just a string', '', '123', 'null', '{"a":1}', '[1,2]', 'true', ' spaced ', 'quote " and \\ backslash', 123, 0, -1.5, true, false, [], {}, [1, 'two', null, { three: [3] }], { a: { b: { c: 'd' } }, e: [null, false] }];
    const created = [];
    for (const doc of values) created.push(await Doc.create({ doc }));
    for (const [i, doc] of values.entries()) {
      const found = await Doc.findOrFail(created[i]!.id);
      expect(found.doc, JSON.stringify(doc)).toEqual(doc);
      expect(typeof found.doc).toBe(typeof doc);
      expect(created[i]!.doc).toEqual(doc);
    }
    const all = await Doc.query().orderBy('id').all();
    expect(all.map((d) => d.doc)).toEqual(values);
    expect(await Doc.query().orderBy('id').pluck('doc')).toEqual(values);
  });

  it('dates and datetimes round-trip at both ends of the supported range; outside it ValidationError and nothing written', async () => {
    // 1987-06-15T21:43:08.765Z has a different digit in every field: SQLite's text is read digit by digit.
    const edges = [new Date('1000-01-01T00:00:00.000Z'), new Date('1969-12-31T23:59:59.999Z'), new Date('1987-06-15T21:43:08.765Z'), new Date('2024-02-29T12:34:56.789Z'), new Date('9999-12-31T23:59:59.999Z')];
    for (const at of edges) {
      const day = new Date(`${at.toISOString().slice(0, 10)}T00:00:00.000Z`);
      const doc = await Doc.create({ doc: null, at, day });
      const found = await Doc.findOrFail(doc.id);
      expect(found.at?.toISOString()).toBe(at.toISOString());
      expect(found.day?.toISOString()).toBe(day.toISOString());
      expect((await Doc.where('at', at).first())?.id).toBe(doc.id);
    }
    // Ordering compares as dates on every dialect (SQLite compares text).
    expect((await Doc.query().orderBy('at').pluck('at')).map((d) => (d as Date).toISOString())).toEqual(edges.map((d) => d.toISOString()));

    const outside = [new Date('0050-07-04T10:00:00Z'), new Date('0999-12-31T23:59:59.999Z'), new Date('+010000-01-01T00:00:00Z'), new Date(Date.UTC(-1, 0, 1)), new Date('nonsense')];
    for (const at of outside) {
      const error = await Doc.create({ doc: null, at }).catch((e: unknown) => e);
      expect(error, String(at)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).property).toBe('at');
      const dayError = await Doc.create({ doc: null, day: at }).catch((e: unknown) => e);
      expect(dayError).toBeInstanceOf(ValidationError);
      expect(() => Doc.where('at', at)).toThrow(ValidationError);
    }
    expect(await Doc.count()).toBe(edges.length);
  });

  it('JSON nested deeper than the database accepts is refused with ValidationError before any SQL', async () => {
    const limit = ConnectionManager.get('primary').dialect.codec.maxJsonDepth;
    const deepest = await Doc.create({ doc: nested(limit) });
    expect((await Doc.findOrFail(deepest.id)).doc).toEqual(nested(limit));
    for (const depth of [limit + 1, 5_000]) {
      const error = await Doc.create({ doc: nested(depth) }).catch((e: unknown) => e);
      expect(error, `depth ${depth}`).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toContain(`at most ${limit}`);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(Doc.create({ doc: cyclic })).rejects.toBeInstanceOf(ValidationError);
    expect(await Doc.count()).toBe(1);
  });
});
