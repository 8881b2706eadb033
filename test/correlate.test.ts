import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, CorrelateError, Model, PrimaryKey, correlate, type JoinType } from '../src/index.js';
import { DIALECTS, describeEachDialect } from './support/dialects.js';

@Model({ connection: 'main', table: 'people' })
class Person extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) tenantId!: number | null;
  @Column({ type: 'string' }) name!: string;
}

@Model({ connection: 'main', table: 'orders' })
class Order extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) tenantId!: number | null;
  @Column({ type: 'integer' }) personId!: number | null;
  @Column({ type: 'integer' }) total!: number;
}

/** Accounts keyed by a 64-bit id: read back as bigint on every dialect. */
@Model({ connection: 'main', table: 'accounts' })
class Account extends ActiveRecord {
  @PrimaryKey({ type: 'bigint' }) id!: bigint;
  @Column({ type: 'string' }) name!: string;
}

/** Ledger entries on SQLite, whose account foreign key is a plain number. */
@Model({ connection: 'lite', table: 'ledger' })
class LedgerEntry extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) accountId!: number;
}

const PEOPLE = [
  { id: 1, tenant_id: 1, name: 'ann' },
  { id: 2, tenant_id: 1, name: 'bob' },
  { id: 3, tenant_id: 2, name: 'cy' },
  { id: 4, tenant_id: 2, name: 'di' },
  { id: 5, tenant_id: null, name: 'ed' },
  { id: 6, tenant_id: 1, name: 'flo' },
];
const ORDERS = [
  { id: 10, tenant_id: 1, person_id: 1, total: 5 },
  { id: 11, tenant_id: 1, person_id: 1, total: 7 },
  { id: 12, tenant_id: 2, person_id: 2, total: 9 }, // person 2 is in tenant 1: no composite match
  { id: 13, tenant_id: 2, person_id: 3, total: 1 },
  { id: 14, tenant_id: null, person_id: 5, total: 2 }, // a null tenant never matches
  { id: 15, tenant_id: 1, person_id: null, total: 3 }, // a null foreign key never matches
  { id: 16, tenant_id: 3, person_id: 99, total: 4 },
  { id: 17, tenant_id: 2, person_id: 3, total: 8 },
];

const SINGLE = 'p.id = o.person_id';
const COMPOSITE = 'p.tenant_id = o.tenant_id and p.id = o.person_id';

/** The same join done by the database, as sorted "left-right" id pairs. */
async function joinInSql(type: JoinType, condition: string): Promise<string[]> {
  const select = (join: string, where = '') => `select p.id as l, o.id as r from people p ${join} join orders o on ${condition}${where}`;
  // MySQL and MariaDB have no FULL JOIN: a left join plus the right rows nothing matched is the same thing.
  const sql = type === 'full' ? `${select('left')} union all ${select('right', ' where p.id is null')}` : select(type);
  const { rows } = await ConnectionManager.get('main').execute(sql, []);
  return rows.map((row) => `${row.l ?? 'null'}-${row.r ?? 'null'}`).sort();
}

function idPairs(pairs: Array<{ left: { id: unknown } | null; right: { id: unknown } | null }>): string[] {
  return pairs.map((p) => `${p.left?.id ?? 'null'}-${p.right?.id ?? 'null'}`);
}

describeEachDialect('correlate', (dialect) => {
  let drop: () => Promise<void>;
  let dropLite: () => Promise<void>;
  let people: Person[];
  let orders: Order[];
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('main', provisioned.configs[0]!);
    const lite = await DIALECTS[0]!.provision(1);
    dropLite = lite.drop;
    ConnectionManager.configure('lite', lite.configs[0]!);
    const knex = ConnectionManager.get('main').knex;
    await knex.schema.createTable('people', (t) => {
      t.integer('id').primary();
      t.integer('tenant_id');
      t.string('name', 32);
    });
    await knex.schema.createTable('orders', (t) => {
      t.integer('id').primary();
      t.integer('tenant_id');
      t.integer('person_id');
      t.integer('total');
    });
    await knex.schema.createTable('accounts', (t) => {
      t.bigInteger('id').primary();
      t.string('name', 32);
    });
    await knex('people').insert(PEOPLE);
    await knex('orders').insert(ORDERS);
    await knex('accounts').insert([{ id: '1', name: 'one' }, { id: '2', name: 'two' }, { id: '9007199254740993', name: 'huge' }]);
    const liteKnex = ConnectionManager.get('lite').knex;
    await liteKnex.schema.createTable('ledger', (t) => {
      t.integer('id').primary();
      t.integer('account_id');
    });
    await liteKnex('ledger').insert([{ id: 1, account_id: 2 }, { id: 2, account_id: 1 }, { id: 3, account_id: 2 }, { id: 4, account_id: 7 }]);
    people = await Person.query().orderBy('id');
    orders = await Order.query().orderBy('id');
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
    await dropLite();
  });

  for (const type of ['inner', 'left', 'right', 'full'] as const) {
    it(`${type} join on one key gives the pairs SQL gives`, async () => {
      const pairs = correlate(people, orders, { on: ['id', 'personId'], type });
      expect(idPairs(pairs).sort()).toEqual(await joinInSql(type, SINGLE));
      // Hashing either side gives the same pairs in the same order.
      const reversed = correlate(orders, people, { on: ['personId', 'id'], type: ({ inner: 'inner', left: 'right', right: 'left', full: 'full' } as const)[type] });
      expect(reversed.map((p) => `${p.right?.id ?? 'null'}-${p.left?.id ?? 'null'}`).sort()).toEqual(idPairs(pairs).sort());
    });

    it(`${type} join on a composite key (null parts never match) gives the pairs SQL gives`, async () => {
      const pairs = correlate(people, orders, { on: [['tenantId', 'tenantId'], ['id', 'personId']], type });
      expect(idPairs(pairs).sort()).toEqual(await joinInSql(type, COMPOSITE));
    });

    it(`${type} join with a left side streamed by batch() gives the same pairs in the same order`, async () => {
      const streamed: Array<{ left: Person | null; right: Order | null }> = [];
      for await (const pair of correlate(Person.batch(2), orders, { on: ['id', 'personId'], type })) streamed.push(pair);
      expect(idPairs(streamed)).toEqual(idPairs(correlate(people, orders, { on: ['id', 'personId'], type })));
      expect(streamed.every((p) => p.left === null || p.left instanceof Person)).toBe(true);
    });
  }

  it('keeps left order, each left row with its matches in right order, unmatched right rows last', () => {
    const expected = ['1-10', '1-11', '2-12', '3-13', '3-17', '4-null', '5-14', '6-null', 'null-15', 'null-16'];
    // Left smaller than right (left hashed) and larger (right hashed) agree.
    expect(idPairs(correlate(people, orders, { on: ['id', 'personId'], type: 'full' }))).toEqual(expected);
    const shuffled = [...people].reverse();
    expect(idPairs(correlate(shuffled, orders, { on: ['id', 'personId'], type: 'left' }))[0]).toBe('6-null');
    const fewOrders = orders.slice(0, 2);
    expect(idPairs(correlate(people, fewOrders, { on: ['id', 'personId'], type: 'left' }))).toEqual(['1-10', '1-11', '2-null', '3-null', '4-null', '5-null', '6-null']);
  });

  it('matches a bigint id with the number a SQLite foreign key holds', async () => {
    const [accounts, entries] = await Promise.all([Account.query().orderBy('id'), LedgerEntry.query().orderBy('id')]);
    expect(typeof accounts[0]!.id).toBe('bigint');
    expect(typeof entries[0]!.accountId).toBe('number');
    const pairs = correlate(entries, accounts, { on: ['accountId', 'id'], type: 'full' });
    expect(pairs.map((p) => `${p.left?.id ?? 'null'}-${p.right?.name ?? 'null'}`)).toEqual(['1-two', '2-one', '3-two', '4-null', 'null-huge']);
  });

  it('correlate.rows gives flat prefixed objects, nulls for the missing side', async () => {
    const rows = correlate.rows(people, orders, { on: ['id', 'personId'], type: 'left', prefix: ['person_', 'order_'] });
    expect(rows[0]).toEqual({ person_id: 1, person_tenantId: 1, person_name: 'ann', order_id: 10, order_tenantId: 1, order_personId: 1, order_total: 5 });
    expect(rows.find((r) => r.person_id === 4)).toEqual({ person_id: 4, person_tenantId: 2, person_name: 'di', order_id: null, order_tenantId: null, order_personId: null, order_total: null });
    const streamed: Record<string, unknown>[] = [];
    for await (const row of correlate.rows(Person.batch(4), orders, { on: ['id', 'personId'], type: 'full' })) streamed.push(row);
    expect(streamed.at(-1)).toEqual({ left_id: null, left_tenantId: null, left_name: null, right_id: 16, right_tenantId: 3, right_personId: 99, right_total: 4 });
  });
});

describe('correlate key comparison and arguments', () => {
  it('plain objects compare a numeric string and its number strictly; null keys never match', () => {
    const pairs = correlate([{ id: '1' }, { id: 2 }, { id: null }], [{ ref: 1 }, { ref: 2n }, { ref: null }], { on: ['id', 'ref'], type: 'full' });
    expect(pairs).toEqual([
      { left: { id: '1' }, right: null },
      { left: { id: 2 }, right: { ref: 2n } },
      { left: { id: null }, right: null },
      { left: null, right: { ref: 1 } },
      { left: null, right: { ref: null } },
    ]);
  });

  it('a numeric string matches its number where both sides are model instances with integer key columns', () => {
    const text = Object.assign(new Person(), { id: '7' as unknown as number });
    const number = Object.assign(new Order(), { id: 1, personId: 7 });
    expect(correlate([text], [number], { on: ['id', 'personId'] })).toHaveLength(1);
    // A string property of a model is text: it does not equal a number.
    expect(correlate([Object.assign(new Person(), { name: '7' })], [number], { on: ['name', 'personId'] as never })).toHaveLength(0);
    expect(correlate([{ id: '7' }], [number], { on: ['id', 'personId'] })).toHaveLength(0);
  });

  it('compares Dates by instant and composite parts without ambiguity', () => {
    const left = [{ at: new Date(1000), a: 'x:1', b: 'y' }];
    expect(correlate(left, [{ at: new Date(1000), a: 'x:1', b: 'y' }], { on: [['at', 'at'], ['a', 'a'], ['b', 'b']] })).toHaveLength(1);
    expect(correlate([{ a: 'x', b: '1:sy' }], [{ a: 'x:1', b: 'y' }], { on: [['a', 'a'], ['b', 'b']] })).toHaveLength(0);
  });

  it('a streamed join hands out every pair in order, and stopping early closes the left stream', async () => {
    const pulled: number[] = [];
    let closed = false;
    async function* pages() {
      try {
        for (let page = 0; page < 100; page++) {
          pulled.push(page);
          yield Array.from({ length: 10 }, (_, i) => ({ id: page * 10 + i, ref: i % 3 }));
        }
      } finally {
        closed = true;
      }
    }
    const right = [{ key: 0 }, { key: 1 }, { key: 1 }];
    const all: Array<[number, number]> = [];
    for await (const pair of correlate(pages(), right, { on: ['ref', 'key'] })) all.push([pair.left.id, pair.right.key]);
    // Rows with ref 2 match nothing; ref 1 matches twice.
    expect(all).toHaveLength(100 * (4 + 3 * 2));
    expect(all.slice(0, 4)).toEqual([[0, 0], [1, 1], [1, 1], [3, 0]]);
    pulled.length = 0;
    closed = false;
    let seen = 0;
    for await (const pair of correlate(pages(), right, { on: ['ref', 'key'] })) {
      expect(pair.left.id).toBeLessThan(20);
      if (++seen === 12) break;
    }
    expect(closed).toBe(true);
    expect(pulled).toEqual([0, 1]);
  });

  it('refuses a malformed on, an unknown type, an async right side and an object key', async () => {
    expect(() => correlate([{ a: 1 }], [{ b: 1 }], { on: [] as never })).toThrow(CorrelateError);
    expect(() => correlate([{ a: 1 }], [{ b: 1 }], { on: ['a', 'b'], type: 'outer' as never })).toThrow(/type must be/);
    expect(() => correlate([{ a: 1 }], Person.batch(1) as never, { on: ['a', 'b'] as never })).toThrow(/right side must be an array/);
    expect(() => correlate([{ a: {} }], [{ b: 1 }], { on: ['a', 'b'] })).toThrow(/no value to compare by/);
    expect(() => correlate.rows([{ a: 1 }], [{ b: 1 }], { on: ['a', 'b'], prefix: ['x', 'x'] })).toThrow(/prefix/);
  });
});
