import type { Knex } from 'knex';
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey } from '../../src/index.js';

/** A bank account; the same table exists on every connection of the cross-database tests. */
@Model({ connection: 'bank_a', table: 'accounts' })
export class Account extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) owner!: string;
  @Column({ type: 'integer' }) balance!: number;
}

export async function createAccounts(knex: Knex, count = 2, balance = 1000): Promise<void> {
  await knex.schema.dropTableIfExists('accounts');
  await knex.schema.createTable('accounts', (t) => {
    t.integer('id').primary();
    t.string('owner', 64);
    t.integer('balance').notNullable();
  });
  await knex('accounts').insert(Array.from({ length: count }, (_, i) => ({ id: i + 1, owner: `owner${i + 1}`, balance })));
}

/**
 * Moves `amount` from account 1 on `from` to account 1 on `to` with atomic increments
 * (read-modify-write through save() would lose updates under concurrency at READ
 * COMMITTED), each joining the ambient branch of its connection.
 */
export async function transfer(from: string, to: string, amount: number): Promise<void> {
  await Account.using(from).rawQuery('update accounts set balance = balance - ? where id = 1', [amount]);
  await Account.using(to).rawQuery('update accounts set balance = balance + ? where id = 1', [amount]);
}

/**
 * Moves `amount` from account 1 on the first connection of `path` to account 1 on the
 * last, touching every connection in `path` in that order (those between get a write that
 * changes nothing), so each joins the ambient cross-database transaction in that order.
 */
export async function transferAlong(path: readonly string[], amount: number): Promise<void> {
  for (const [i, name] of path.entries()) {
    const delta = i === 0 ? -amount : i === path.length - 1 ? amount : 0;
    await Account.using(name).rawQuery('update accounts set balance = balance + ? where id = 1', [delta]);
  }
}

export async function balanceOf(connection: string, id = 1): Promise<number> {
  const row = await ConnectionManager.get(connection).knex('accounts').where({ id }).first();
  return Number(row.balance);
}
