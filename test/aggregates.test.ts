import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, QueryBuilderError, ValidationError, avg, count, countDistinct, max, min, sum } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

@Model({ connection: 'primary', table: 'orders' })
class Order extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) customerId!: number;
  @Column({ type: 'float' }) total!: number;
  @Column({ type: 'integer' }) qty!: number;
  @Column({ type: 'bigint' }) big!: bigint | null;
  @Column({ type: 'datetime' }) placedAt!: Date;
  @Column({ type: 'date' }) day!: Date;
  @Column({ type: 'string' }) status!: string;
  @Column({ type: 'boolean' }) gift!: boolean;
}

const at = (d: number) => new Date(Date.UTC(2024, 2, d, 10, 30, 0, 250));
const dayOf = (d: number) => new Date(Date.UTC(2024, 2, d));
const BIG = 9_007_199_254_740_993n; // 2^53 + 1: not a safe JS number
// customerId, total, qty, big, day, status
const ORDERS: Array<[number, number, number, bigint | null, number, string]> = [
  [1, 10.5, 1, BIG, 1, 'paid'],
  [1, 99.25, 2, BIG, 2, 'paid'],
  [1, 5, 3, null, 3, 'open'],
  [2, 200, 1, 1n, 4, 'paid'],
  [2, 0.75, 5, 2n, 5, 'paid'],
  [3, 40, 2, null, 6, 'open'],
  [3, 70, 2, 3n, 7, 'paid'],
];

describeEachDialect('aggregates and grouping', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('primary', provisioned.configs[0]!);
    await ConnectionManager.get('primary').knex.schema.createTable('orders', (t) => {
      t.increments('id');
      t.integer('customer_id').notNullable();
      // DECIMAL: PostgreSQL and MySQL return it as text.
      t.decimal('total', 12, 2).notNullable();
      t.integer('qty').notNullable();
      t.bigInteger('big').nullable();
      t.datetime('placed_at', { precision: 3 }).notNullable();
      t.date('day').notNullable();
      t.string('status', 16).notNullable();
      t.boolean('gift').notNullable();
    });
    await Order.bulkInsert(ORDERS.map(([customerId, total, qty, big, d, status]) => ({ customerId, total, qty, big, placedAt: at(d), day: dayOf(d), status, gift: d % 2 === 0 })));
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  it('sum and avg of integer and decimal columns are numbers, sum of a bigint column an exact bigint', async () => {
    const qty = await Order.sum('qty');
    expect(qty).toBe(16);
    expect(typeof qty).toBe('number');
    expect(await Order.where('status', 'paid').sum('total')).toBeCloseTo(380.5, 10);
    expect(await Order.where('customerId', 1).avg('qty')).toBe(2);
    expect(await Order.where('customerId', 2).avg('qty')).toBe(3);
    expect(await Order.whereIn('qty', [1, 2]).avg('qty')).toBe(1.6);
    expect(await Order.where('customerId', 2).avg('total')).toBeCloseTo(100.375, 10);
    const big = await Order.where('customerId', 1).sum('big');
    expect(big).toBe(2n * BIG);
    expect(typeof big).toBe('bigint');
    expect(await Order.where('customerId', 2).sum('big')).toBe(3n);
  });

  it('min and max return the column\'s JS type: number, bigint, Date (datetime and date), string', async () => {
    expect(await Order.min('qty')).toBe(1);
    expect(await Order.max('total')).toBe(200);
    expect(await Order.max('big')).toBe(BIG);
    expect(await Order.min('big')).toBe(1n);
    const first = await Order.min('placedAt');
    expect(first).toBeInstanceOf(Date);
    expect(first!.getTime()).toBe(at(1).getTime());
    expect((await Order.max('placedAt'))!.getTime()).toBe(at(7).getTime());
    expect((await Order.where('customerId', 2).min('day'))!.getTime()).toBe(dayOf(4).getTime());
    expect(await Order.max('status')).toBe('paid');
  });

  it('count, count(property) and countDistinct are numbers', async () => {
    expect(await Order.count()).toBe(7);
    expect(await Order.count('big')).toBe(5);
    expect(await Order.where('status', 'paid').count()).toBe(5);
    expect(await Order.countDistinct('customerId')).toBe(3);
    expect(await Order.countDistinct('big')).toBe(4);
    expect(typeof (await Order.query().countDistinct('status'))).toBe('number');
  });

  it('over no rows: sum, avg, min and max are null, counts are 0', async () => {
    const none = Order.where('status', 'nope');
    expect(await none.sum('qty')).toBeNull();
    expect(await none.sum('big')).toBeNull();
    expect(await none.avg('total')).toBeNull();
    expect(await none.min('placedAt')).toBeNull();
    expect(await none.max('status')).toBeNull();
    expect(await none.count()).toBe(0);
    expect(await none.countDistinct('status')).toBe(0);
    // Only NULLs: null too.
    expect(await Order.where('customerId', 3).where('status', 'open').sum('big')).toBeNull();
  });

  it('limit, offset and distinct choose the rows an aggregate runs over', async () => {
    expect(await Order.query().orderBy('qty', 'desc').limit(2).sum('qty')).toBe(8);
    expect(await Order.query().orderBy('qty').offset(5).count()).toBe(2);
    expect(await Order.query().limit(3).count()).toBe(3);
    expect(await Order.query().distinct('qty').count()).toBe(4);
    expect(await Order.query().distinct('qty').sum('qty')).toBe(11);
    await expect(Order.query().distinct('qty').sum('total')).rejects.toThrow(QueryBuilderError);
  });

  it('distinct(...properties) reads each combination once', async () => {
    const rows = await Order.query().distinct('customerId', 'status').orderBy('customerId').orderBy('status');
    expect(rows.map((r) => `${r.customerId}:${r.status}`)).toEqual(['1:open', '1:paid', '2:paid', '3:open', '3:paid']);
    expect(await Order.distinct('status').orderBy('status').pluck('status')).toEqual(['open', 'paid']);
  });

  it('groupBy().aggregate() resolves with plain typed rows; having and orderBy take aggregate names and grouped properties', async () => {
    const rows = await Order.where('status', 'paid')
      .groupBy('customerId')
      .aggregate({ revenue: sum('total'), orders: count() })
      .having('revenue', '>', 100)
      .orderBy('revenue', 'desc');
    expect(rows).toEqual([
      { customerId: 2, revenue: 200.75, orders: 2 },
      { customerId: 1, revenue: 109.75, orders: 2 },
    ]);
    const all = await Order.groupBy('customerId', 'status')
      .aggregate({ n: count(), big: sum('big'), first: min('placedAt'), last: max('day'), mean: avg('qty'), kinds: countDistinct('qty'), withBig: count('big') })
      .orderBy('customerId')
      .orderBy('status', 'desc');
    expect(all).toEqual([
      { customerId: 1, status: 'paid', n: 2, big: 2n * BIG, first: at(1), last: dayOf(2), mean: 1.5, kinds: 2, withBig: 2 },
      { customerId: 1, status: 'open', n: 1, big: null, first: at(3), last: dayOf(3), mean: 3, kinds: 1, withBig: 0 },
      { customerId: 2, status: 'paid', n: 2, big: 3n, first: at(4), last: dayOf(5), mean: 3, kinds: 2, withBig: 2 },
      { customerId: 3, status: 'paid', n: 1, big: 3n, first: at(7), last: dayOf(7), mean: 2, kinds: 1, withBig: 1 },
      { customerId: 3, status: 'open', n: 1, big: null, first: at(6), last: dayOf(6), mean: 2, kinds: 1, withBig: 0 },
    ]);
  });

  it('having on counts, bigints, dates and grouped properties; limit and offset on groups', async () => {
    const byCustomer = Order.groupBy('customerId').aggregate({ orders: count(), big: sum('big'), last: max('placedAt') });
    expect((await byCustomer.having('orders', '>=', 3)).map((r) => r.customerId)).toEqual([1]);
    expect((await byCustomer.having('big', '>', BIG).orderBy('customerId')).map((r) => r.customerId)).toEqual([1]);
    expect((await byCustomer.having('big', '<', 2n * BIG).orderBy('customerId')).map((r) => r.customerId)).toEqual([2, 3]);
    expect((await byCustomer.having('big', '=', 2n * BIG)).map((r) => r.customerId)).toEqual([1]);
    expect((await byCustomer.having('last', '>=', at(5)).orderBy('customerId')).map((r) => r.customerId)).toEqual([2, 3]);
    expect((await byCustomer.having('customerId', '<>', 2).orderBy('customerId', 'desc')).map((r) => r.customerId)).toEqual([3, 1]);
    expect((await byCustomer.orderBy('customerId').limit(1).offset(1)).map((r) => r.customerId)).toEqual([2]);
    // The grouped query is immutable: the base is unchanged by what was derived from it.
    expect(await byCustomer).toHaveLength(3);
  });

  it('bad aggregates and names are refused before any SQL', async () => {
    await expect(Order.sum('status' as never)).rejects.toThrow(QueryBuilderError);
    await expect(Order.query().avg('placedAt' as never)).rejects.toThrow(QueryBuilderError);
    await expect(Order.query().min('gift' as never)).rejects.toThrow(QueryBuilderError);
    await expect(Order.query().sum('nope' as never)).rejects.toThrow(QueryBuilderError);
    const grouped = Order.groupBy('customerId');
    expect(() => grouped.aggregate({ 'bad name': count() })).toThrow(QueryBuilderError);
    expect(() => grouped.aggregate({ customerId: count() })).toThrow(QueryBuilderError);
    expect(() => grouped.aggregate({ n: sum('status' as never) })).toThrow(QueryBuilderError);
    expect(() => grouped.aggregate({ n: count() }).having('m' as never, '>', 1)).toThrow(QueryBuilderError);
    expect(() => grouped.aggregate({ n: count() }).having('n', '>', 'x; drop table orders')).toThrow(ValidationError);
    expect(() => grouped.aggregate({ n: count() }).having('n', 'like' as never, 1)).toThrow(QueryBuilderError);
    expect(() => grouped.orderBy('status' as never)).toThrow(QueryBuilderError);
    expect(() => Order.query().orderBy('id').groupBy('customerId')).toThrow(QueryBuilderError);
    expect(() => Order.groupBy()).toThrow(QueryBuilderError);
  });
});
