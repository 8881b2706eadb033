import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, count, sum } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

@Model({ connection: 'primary', table: 'events' })
class Event extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) kind!: string;
  @Column({ type: 'boolean' }) public!: boolean;
  @Column({ type: 'datetime' }) at!: Date;
  @Column({ type: 'integer' }) size!: number;
}

const at = new Date(Date.UTC(2024, 4, 1, 8, 0, 0, 125));

describeEachDialect('toSQL', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('primary', provisioned.configs[0]!);
    await ConnectionManager.get('primary').knex.schema.createTable('events', (t) => {
      t.increments('id');
      t.string('kind', 16).notNullable();
      t.boolean('public').notNullable();
      t.datetime('at', { precision: 3 }).notNullable();
      t.integer('size').notNullable();
    });
    await Event.bulkInsert([
      { kind: 'a', public: true, at, size: 1 },
      { kind: 'b', public: false, at, size: 2 },
      { kind: 'a', public: true, at: new Date(at.getTime() + 1000), size: 3 },
    ]);
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  /** Runs a toSQL() result as it is, on the connection. */
  const run = async ({ sql, bindings }: { sql: string; bindings: readonly unknown[] }) => (await ConnectionManager.get('primary').execute(sql, bindings)).rows;
  const placeholder = (i: number) => (dialect.driver === 'postgresql' ? `$${i}` : '?');

  it('gives the statement in the dialect\'s placeholders, with bindings encoded as sent', () => {
    const { sql, bindings } = Event.where('public', true).where('at', '>=', at).whereLike('kind', 'a%').orderBy('id').limit(2).toSQL();
    expect(sql).toContain(placeholder(1));
    expect(sql).toContain(placeholder(4));
    expect(sql.toLowerCase()).toMatch(/^select .* from .events. where/);
    const encodedAt = { sqlite: at.toISOString(), postgresql: at.toISOString(), mysql: '2024-05-01 08:00:00.125' }[dialect.driver];
    const encodedTrue = dialect.driver === 'postgresql' ? true : 1;
    const pattern = dialect.driver === 'sqlite' ? 'a*' : 'a%';
    expect(bindings).toEqual([encodedTrue, encodedAt, pattern, 2]);
  });

  it('running what toSQL() returns reads the rows the query reads', async () => {
    const query = Event.where('public', true).whereBetween('size', [1, 3]).whereIn('kind', ['a', 'c', 'd']).orderBy('size', 'desc');
    const rows = await run(query.toSQL());
    expect(rows.map((r) => Number(r.size))).toEqual((await query).map((e) => e.size));
    expect(rows.map((r) => Number(r.size))).toEqual([3, 1]);
  });

  it('a grouped query and a locking read show their whole statement', async () => {
    const grouped = Event.where('size', '>', 0).groupBy('kind').aggregate({ n: count(), total: sum('size') }).having('n', '>', 1).orderBy('total', 'desc');
    const text = grouped.toSQL();
    expect(text.sql.toLowerCase()).toContain('group by');
    expect(text.sql.toLowerCase()).toContain('having');
    expect(text.bindings).toEqual([0, 1]);
    const rows = await run(text);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.kind).toBe('a');
    expect(await grouped).toEqual([{ kind: 'a', n: 2, total: 4 }]);
    const lock = Event.where('id', 1).forUpdate().noWait().toSQL().sql.toLowerCase();
    if (dialect.driver === 'sqlite') expect(lock).not.toContain('for update');
    else expect(lock).toMatch(/for update nowait$/);
  });
});
