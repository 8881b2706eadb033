import type { Knex } from 'knex';
import { ActiveRecord, Column, Model, PrimaryKey } from 'polyrecord';

/** The PostgreSQL bank (debited). */
export const PG_BANK = 'xx_pg';
/** The MariaDB bank (credited), reached with `XdbAccount.using(MARIA_BANK)`. */
export const MARIA_BANK = 'xx_my';
/** The coordinator log's connection: a PostgreSQL database of its own, no participant. */
export const TX_LOG = 'xx_log';

export const ACCOUNTS_TABLE = 'accounts';
export const INITIAL_BALANCE = 1_000_000;

/** An account; the same table exists on both banks. */
@Model({ connection: PG_BANK, table: ACCOUNTS_TABLE })
export class XdbAccount extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) owner!: string;
  @Column({ type: 'integer' }) balance!: number;
}

export async function createAccounts(knex: Knex, count: number): Promise<void> {
  await knex.schema.createTable(ACCOUNTS_TABLE, (t) => {
    t.integer('id').primary();
    t.string('owner', 64).notNullable();
    t.integer('balance').notNullable();
  });
  await knex(ACCOUNTS_TABLE).insert(Array.from({ length: count }, (_, i) => ({ id: i + 1, owner: `owner${i + 1}`, balance: INITIAL_BALANCE })));
}
