import type { Knex } from 'knex';
import { ActiveRecord, Column, Model, Outbox, PrimaryKey } from 'polyrecord';

/** Connection of the source records and their outbox (PostgreSQL). */
export const BROKER_SOURCE = 'xb_src';
/** Connection of the inbox and the copies (MariaDB). */
export const BROKER_TARGET = 'xb_dst';

export const ITEM_TABLE = 'broker_items';
export const COPY_TABLE = 'broker_item_copies';

/** An item on PostgreSQL: every save writes an outbox event that a relay publishes to the broker. */
@Outbox()
@Model({ connection: BROKER_SOURCE, table: ITEM_TABLE })
export class BrokerBenchItem extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @Column({ type: 'integer' }) score!: number;
  @Column({ type: 'integer' }) version!: number;
}

/** The columns compared between an item and its copy. */
export const COMPARED = ['id', 'name', 'score', 'version'] as const;

export async function createBrokerTables(source: Knex, target: Knex): Promise<void> {
  await source.schema.createTable(ITEM_TABLE, (t) => {
    t.increments('id');
    t.string('name', 100).notNullable();
    t.integer('score').notNullable();
    t.integer('version').notNullable();
  });
  await target.schema.createTable(COPY_TABLE, (t) => {
    t.integer('item_id').primary();
    t.string('name', 100).notNullable();
    t.integer('score').notNullable();
    t.integer('version').notNullable();
  });
}
