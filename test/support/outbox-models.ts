import type { Knex } from 'knex';
import { ActiveRecord, AfterSave, Column, Model, PrimaryKey } from '../../src/index.js';

/**
 * An order on connection `shop` whose outbox is enabled with the option form,
 * `@Model({ ..., outbox: true })`, not with `@Outbox()` (test/outbox-events.test.ts).
 */
@Model({ connection: 'shop', table: 'shop_orders', outbox: true })
export class ShopOrder extends ActiveRecord {
  /** When set, the next saves throw from an after-hook (after the record's and the event's statements). */
  static failAfterSave = false;

  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) sku!: string;
  @Column({ type: 'integer' }) qty!: number;
  @Column({ type: 'datetime' }) placedAt!: Date;

  @AfterSave() afterSave() {
    if (ShopOrder.failAfterSave) throw new Error('after-save hook failed on purpose');
  }
}

export async function createShopTables(knex: Knex): Promise<void> {
  await knex.schema.createTable('shop_orders', (t) => {
    t.increments('id');
    t.string('sku', 64).notNullable();
    t.integer('qty').notNullable();
    t.datetime('placed_at', { precision: 3 });
  });
}
