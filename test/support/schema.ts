import type { Knex } from 'knex';
import { ActiveRecord, Column, ConnectionManager, CreatedAt, Model, PrimaryKey, UpdatedAt } from '../../src/index.js';
import type { DialectFixture } from './dialects.js';

/** The `users` table every behaviour suite uses, in each dialect's native types. */
export async function createUsersTable(knex: Knex, table = 'users'): Promise<void> {
  await knex.schema.dropTableIfExists(table);
  await knex.schema.createTable(table, (t) => {
    t.increments('id');
    t.string('email', 191).notNullable().unique();
    t.string('status', 32).defaultTo('active');
    t.integer('score');
    t.boolean('active');
    t.bigInteger('big');
    t.double('ratio');
    t.date('birthday');
    t.datetime('seen_at', { precision: 3 });
    t.json('meta');
    t.datetime('created_at', { precision: 3 });
    t.datetime('updated_at', { precision: 3 });
  });
}

@Model({ connection: 'primary', table: 'users' })
export class User extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'string' }) status!: string;
  @Column({ type: 'integer' }) score!: number | null;
  @Column({ type: 'boolean' }) active!: boolean | null;
  @Column({ type: 'bigint' }) big!: bigint | null;
  @Column({ type: 'float' }) ratio!: number | null;
  @Column({ type: 'date' }) birthday!: Date | null;
  @Column({ type: 'datetime' }) seenAt!: Date | null;
  @Column({ type: 'json' }) meta!: Record<string, unknown> | unknown[] | null;
  @CreatedAt() createdAt!: Date;
  @UpdatedAt() updatedAt!: Date;
}

/**
 * Configures `primary` and `secondary` on fresh databases of `dialect`, with the users
 * table on both. Returns a teardown.
 */
export async function setUpPrimaryAndSecondary(dialect: DialectFixture): Promise<() => Promise<void>> {
  const provisioned = await dialect.provision(2);
  ConnectionManager.configure('primary', provisioned.configs[0]!);
  ConnectionManager.configure('secondary', provisioned.configs[1]!);
  await createUsersTable(ConnectionManager.get('primary').knex);
  await createUsersTable(ConnectionManager.get('secondary').knex);
  return async () => {
    await ConnectionManager.closeAll();
    await provisioned.drop();
  };
}

/** Empties the users table on both connections. */
export async function truncateUsers(): Promise<void> {
  for (const name of ['primary', 'secondary']) await ConnectionManager.get(name).knex('users').delete();
}
