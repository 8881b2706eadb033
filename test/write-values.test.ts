import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, CreatedAt, Model, PrimaryKey, ValidationError } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

@Model({ connection: 'primary', table: 'items' })
class Item extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @Column({ type: 'integer' }) qty!: number | null;
  @Column({ type: 'bigint' }) balance!: bigint | null;
  @Column({ type: 'float' }) price!: number | null;
  @Column({ type: 'boolean' }) inPrint = true;
  @Column({ type: 'date' }) day!: Date | null;
  @Column({ type: 'datetime' }) at!: Date | null;
  @Column({ type: 'json' }) doc!: unknown;
}

/** Date-times in columns that keep fewer than milliseconds (MySQL's plain DATETIME keeps none). */
@Model({ connection: 'primary', table: 'stamps' })
class Stamp extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'datetime' }) whole!: Date | null;
  @Column({ type: 'datetime' }) tenths!: Date | null;
  @CreatedAt() createdAt!: Date;
}

const COLUMNS = ['id', 'name', 'qty', 'balance', 'price', 'inPrint', 'day', 'at', 'doc'] as const;

/** The column values of a record, for comparing what an instance holds with what the database gives back. */
const valuesOf = (record: Item) => Object.fromEntries(COLUMNS.map((p) => [p, record[p]]));

/** Every instance a write returned holds exactly what reading the row back gives (types included). */
async function expectAsStored(record: Item): Promise<void> {
  const stored = await Item.findOrFail(record.id);
  expect(valuesOf(record)).toStrictEqual(valuesOf(stored));
  expect(record.isDirty()).toBe(false);
}

/** Values each column type refuses, with the `received` the error reports. */
const REFUSED: Array<[keyof Item, unknown, string]> = [
  ['qty', 1.5, 'number'],
  ['qty', Number.NaN, 'number'],
  ['qty', '1.5', 'string'],
  ['qty', '12abc', 'string'],
  ['qty', true, 'boolean'],
  ['qty', { n: 1 }, 'object'],
  ['price', Number.POSITIVE_INFINITY, 'number'],
  ['price', Number.NaN, 'number'],
  ['price', 'cheap', 'string'],
  ['balance', 1.5, 'number'],
  ['balance', 2 ** 60, 'number'],
  ['balance', '1e3', 'string'],
  ['balance', 2n ** 64n, 'bigint'],
  ['inPrint', 'yes', 'string'],
  ['inPrint', 2, 'number'],
  ['inPrint', 1, 'number'],
  ['name', 42, 'number'],
  ['name', { first: 'Ada' }, 'object'],
  ['name', ['a'], 'array'],
  ['day', new Date('nonsense'), 'Date'],
  ['day', 'tomorrow', 'string'],
  ['day', 1_700_000_000_000, 'number'],
  ['at', '12/06/2026', 'string'],
  ['at', new Date('0999-12-31T23:59:59Z'), 'Date'],
  ['doc', { big: 1n }, 'object'],
  ['doc', [() => 1], 'array'],
  ['doc', new Map([['a', 1]]), 'object'],
];

describeEachDialect('values are right on every write path', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('primary', provisioned.configs[0]!);
    await ConnectionManager.get('primary').knex.schema.createTable('items', (t) => {
      t.increments('id');
      t.string('name').notNullable().unique();
      t.integer('qty');
      t.bigInteger('balance');
      t.double('price');
      t.boolean('in_print');
      t.date('day');
      t.datetime('at', { precision: 3 });
      t.json('doc');
    });
    await ConnectionManager.get('primary').knex.schema.createTable('stamps', (t) => {
      t.increments('id');
      t.datetime('whole', { precision: 0 });
      t.datetime('tenths', { precision: 1 });
      t.datetime('created_at', { precision: 0 });
    });
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });
  beforeEach(async () => {
    await ConnectionManager.get('primary').knex('items').delete();
  });

  it('create() leaves on the instance what reload() gives: converted numbers, bigints, UTC days, normalised JSON', async () => {
    const item = await Item.create({
      name: 'a',
      qty: '42' as never,
      balance: '9007199254740993' as never,
      price: '2.5' as never,
      day: new Date('2026-12-06T15:00:00Z'),
      at: '2026-12-06T15:00:00.123+02:00' as never,
      doc: { when: new Date('2026-01-02T03:04:05Z'), gone: undefined, list: [1, Number.NaN] },
    });
    expect(item.qty).toBe(42);
    expect(item.balance).toBe(9007199254740993n);
    expect(item.balance! + 1n).toBe(9007199254740994n);
    expect(item.price).toBe(2.5);
    expect(item.day).toEqual(new Date('2026-12-06T00:00:00Z'));
    expect(item.at).toEqual(new Date('2026-12-06T13:00:00.123Z'));
    expect(item.doc).toEqual({ when: '2026-01-02T03:04:05.000Z', list: [1, null] });
    expect(item.inPrint).toBe(true);
    await expectAsStored(item);
    // A safe integer is accepted for a bigint column and held as a bigint.
    const small = await Item.create({ name: 'b', balance: 7 as never });
    expect(small.balance).toBe(7n);
    await expectAsStored(small);
  });

  it('save() of changed values and query update() hold what the database holds', async () => {
    const item = await Item.create({ name: 'a', qty: 1 });
    item.qty = '7' as never;
    item.day = new Date('2026-03-04T23:59:59Z');
    await item.save();
    expect(item.qty).toBe(7);
    expect(item.day).toEqual(new Date('2026-03-04T00:00:00Z'));
    await expectAsStored(item);
    // Assigning the same value in another form is no change: nothing to write.
    item.qty = '7' as never;
    await item.save();
    expect(item.qty).toBe(7);

    expect(await Item.where('name', 'a').update({ qty: '8' as never, balance: 12 as never })).toBe(1);
    const updated = await Item.findOrFail(item.id);
    expect(updated.qty).toBe(8);
    expect(updated.balance).toBe(12n);
    // Where values are normalised too: '8' finds the row whose qty is 8.
    expect(await Item.where('qty', '8' as never).count()).toBe(1);
  });

  it('field-initializer defaults apply to bulkInsert and bulkInsertOrUpdate rows as they do to create(), and never overwrite an existing value', async () => {
    await Item.bulkInsert([{ name: 'a' }, { name: 'b', inPrint: false }, { name: 'c', qty: '3' as never }]);
    const rows = await Item.query().orderBy('name').all();
    expect(rows.map((r) => [r.name, r.inPrint, r.qty])).toEqual([
      ['a', true, null],
      ['b', false, null],
      ['c', true, 3],
    ]);
    await Item.bulkInsertOrUpdate([{ name: 'b', qty: 5 }, { name: 'd' }], { conflictKeys: ['name'] });
    const after = await Item.query().orderBy('name').all();
    // b keeps the false it has (a default is not a value the caller gave); d gets the default.
    expect(after.map((r) => [r.name, r.inPrint, r.qty])).toEqual([
      ['a', true, null],
      ['b', false, 5],
      ['c', true, 3],
      ['d', true, null],
    ]);
  });

  it('a date-time column that keeps fewer than milliseconds: the record holds what the server keeps, on every write path', async () => {
    const at = new Date('2026-12-06T15:00:00.789Z');
    const stamp = await Stamp.create({ whole: at, tenths: at });
    // SQLite stores the text as given; the servers keep 0 and 1 digits here.
    const cut = dialect.driver === 'sqlite' ? [at, at] : [new Date('2026-12-06T15:00:00.000Z'), new Date('2026-12-06T15:00:00.700Z')];
    expect([stamp.whole, stamp.tenths]).toEqual(cut);
    const stored = await Stamp.findOrFail(stamp.id);
    expect([stored.whole, stored.tenths, stored.createdAt]).toEqual([stamp.whole, stamp.tenths, stamp.createdAt]);
    stamp.tenths = new Date('2026-12-06T15:00:00.999Z');
    await stamp.save();
    expect(stamp.tenths).toEqual((await Stamp.findOrFail(stamp.id)).tenths);
    // Bulk and query writes store the same cut on every server (MariaDB would truncate, PostgreSQL round).
    await Stamp.bulkInsert([{ whole: new Date('2026-12-06T15:00:00.999Z') }]);
    await Stamp.where('id', stamp.id).update({ whole: new Date('2026-12-06T15:00:01.999Z') });
    const wholes = (await Stamp.query().orderBy('id').pluck('whole')).map((d) => d!.toISOString());
    expect(wholes).toEqual(dialect.driver === 'sqlite' ? ['2026-12-06T15:00:01.999Z', '2026-12-06T15:00:00.999Z'] : ['2026-12-06T15:00:01.000Z', '2026-12-06T15:00:00.000Z']);
  });

  it('bulk rows are converted like create() values, and the caller\'s objects are not modified', async () => {
    const row = { name: 'a', qty: '3' as never, at: '2026-12-06 15:00:00.5' as never, balance: '9007199254740993' as never };
    await Item.bulkInsert([row]);
    expect(row).toEqual({ name: 'a', qty: '3', at: '2026-12-06 15:00:00.5', balance: '9007199254740993' });
    const stored = await Item.findByOrFail({ name: 'a' });
    expect([stored.qty, stored.at, stored.balance]).toEqual([3, new Date('2026-12-06T15:00:00.500Z'), 9007199254740993n]);
  });

  describe('a value its column cannot hold is refused with ValidationError on every path, and nothing is written', () => {
    it.each(REFUSED)('%s = %o', async (property, value, received) => {
      const existing = await Item.create({ name: 'existing', qty: 1 });
      const check = (error: unknown) => {
        expect(error).toBeInstanceOf(ValidationError);
        const e = error as ValidationError;
        expect(e.code).toBe('E_VALIDATION');
        expect(e.model).toBe('Item');
        expect(e.property).toBe(property);
        expect(e.expected).toBe(columnType(property));
        expect(e.received).toBe(received);
        expect(e.message).toContain(`Item.${property}`);
      };
      const attempts: Array<() => Promise<unknown>> = [
        () => Item.create({ name: 'new', [property]: value }),
        async () => {
          const fresh = await Item.findOrFail(existing.id);
          (fresh as unknown as Record<string, unknown>)[property] = value;
          return fresh.save();
        },
        () => Item.where('id', existing.id).update({ [property]: value }),
        () => Item.bulkInsert([{ name: 'x1' }, { name: 'x2', [property]: value }]),
        () => Item.bulkInsertOrUpdate([{ name: 'existing', qty: 2 }, { name: 'x3', [property]: value }], { conflictKeys: ['name'] }),
      ];
      for (const attempt of attempts) check(await attempt().then(() => 'no error', (e: unknown) => e));
      // A where value is checked the same way (a list is pointed to whereIn()).
      if (Array.isArray(value) && property !== 'doc') expect(() => Item.where(property as never, value as never)).toThrow(/whereIn/);
      else check(await (async () => Item.where(property as never, value as never).count())().catch((e: unknown) => e));
      // Nothing was written by any attempt.
      expect(await Item.count()).toBe(1);
      await expectAsStored(await Item.findOrFail(existing.id));
      expect((await Item.findOrFail(existing.id)).qty).toBe(1);
    });
  });

  it('a bad value late in a bulk of many statements writes none of the rows', async () => {
    const rows: Array<Partial<Item>> = Array.from({ length: 5_000 }, (_, i) => ({ name: `n${i}`, qty: i }));
    rows.push({ name: 'bad', qty: 0.5 });
    await expect(Item.bulkInsert(rows)).rejects.toBeInstanceOf(ValidationError);
    expect(await Item.count()).toBe(0);
  });
});

function columnType(property: string): string {
  return { qty: 'integer', price: 'float', balance: 'bigint', inPrint: 'boolean', name: 'string', day: 'date', at: 'datetime', doc: 'json' }[property]!;
}
