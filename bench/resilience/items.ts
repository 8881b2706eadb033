import { freshPostgres, type FreshDatabase } from '../sync/support.js';

/** Rows of the `items` table the resilience benchmarks read by key. */
export const ITEM_ROWS = 1_000;

/**
 * A fresh PostgreSQL database with an `items` table of {@link ITEM_ROWS} rows (`id`, `name`);
 * `defer` gets what drops it.
 */
export async function freshItems(serverUrl: string, suffix: string, defer: (cleanup: () => Promise<unknown>) => void): Promise<FreshDatabase> {
  const db = await freshPostgres(serverUrl, suffix);
  defer(() => db.drop());
  const knex = db.knex();
  try {
    await knex.schema.createTable('items', (t) => {
      t.integer('id').primary();
      t.string('name', 50).notNullable();
    });
    await knex('items').insert(Array.from({ length: ITEM_ROWS }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` })));
  } finally {
    await knex.destroy();
  }
  return db;
}
