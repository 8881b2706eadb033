import type { Knex } from 'knex';
import { ActiveRecord, Column, Model, Outbox, PrimaryKey, SyncTo, UpdatedAt } from 'polyrecord';

/** Connection of the source records and their outbox (PostgreSQL). */
export const OUTBOX_SOURCE = 'xo_src';
/** Connection of the copies (MariaDB). */
export const OUTBOX_TARGET = 'xo_dst';

export const ITEM_TABLE = 'outbox_items';
export const COPY_TABLE = 'outbox_item_copies';

/** The copy of an item on MariaDB, one per item (unique `item_id`). */
@Model({ connection: OUTBOX_TARGET, table: COPY_TABLE })
export class OutboxBenchCopy extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) itemId!: number;
  @Column({ type: 'string' }) name!: string;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'integer' }) score!: number;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'datetime' }) changedAt!: Date;
}

/** An item on PostgreSQL: every save writes an outbox event, and a relay copies it to MariaDB. */
@Outbox()
@SyncTo({
  connection: OUTBOX_TARGET,
  model: OutboxBenchCopy,
  map: (item: OutboxBenchItem) => ({ itemId: item.id, name: item.name, email: item.email, score: item.score, version: item.version, changedAt: item.updatedAt }),
  conflictKeys: ['itemId'],
})
@Model({ connection: OUTBOX_SOURCE, table: ITEM_TABLE })
export class OutboxBenchItem extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'integer' }) score!: number;
  @Column({ type: 'integer' }) version!: number;
  @UpdatedAt() updatedAt!: Date;
}

export async function createOutboxTables(source: Knex, target: Knex): Promise<void> {
  await source.schema.createTable(ITEM_TABLE, (t) => {
    t.increments('id');
    t.string('name', 100).notNullable();
    t.string('email', 191).notNullable();
    t.integer('score').notNullable();
    t.integer('version').notNullable();
    t.datetime('updated_at', { precision: 3 }).notNullable();
  });
  await target.schema.createTable(COPY_TABLE, (t) => {
    t.increments('id');
    t.integer('item_id').notNullable().unique();
    t.string('name', 100).notNullable();
    t.string('email', 191).notNullable();
    t.integer('score').notNullable();
    t.integer('version').notNullable();
    t.datetime('changed_at', { precision: 3 }).notNullable();
  });
}
