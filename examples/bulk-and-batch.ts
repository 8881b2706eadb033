/**
 * Many rows at once: bulkInsert, bulkInsertOrUpdate (upsert), set-based update/delete,
 * and batch() iteration in primary-key pages.
 *
 * Runs on a SQLite file, and also on PostgreSQL and/or MySQL/MariaDB when
 * POLYRECORD_PG_URL / POLYRECORD_MYSQL_URL are set (table example_products, dropped at the end).
 *
 * Run: npm run build && npx tsc -p tsconfig.run.json && node .build/examples/bulk-and-batch.js
 */
import type { Knex } from 'knex';
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, QueryError, UpdatedAt } from 'polyrecord';
import { freshSqliteFile, serverUrls } from './support.js';

@Model({ connection: 'sqlite', table: 'example_products' })
class Product extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) sku!: string;
  @Column({ type: 'string' }) name!: string;
  @Column({ type: 'integer' }) priceCents!: number;
  @Column({ type: 'integer' }) stock!: number;
  @UpdatedAt() updatedAt!: Date;
}

async function createTable(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('example_products');
  await knex.schema.createTable('example_products', (t) => {
    t.increments('id');
    t.string('sku', 32).notNullable().unique();
    t.string('name').notNullable();
    t.integer('price_cents').notNullable();
    t.integer('stock').notNullable();
    t.datetime('updated_at', { precision: 3 });
  });
}

const ROWS = 20_000;
const sku = (i: number) => `SKU-${String(i).padStart(6, '0')}`;

/** The whole tour against whichever connection Product is switched to. */
async function tour(): Promise<void> {
  // bulkInsert: chunked to the dialect's bind-parameter limit, one transaction, no per-record hooks.
  let started = performance.now();
  const rows = Array.from({ length: ROWS }, (_, i) => ({ sku: sku(i), name: `Product ${i}`, priceCents: 100 + (i % 900), stock: i % 50 }));
  const inserted = await Product.bulkInsert(rows);
  console.log(`  bulkInsert: ${inserted} rows in ${Math.round(performance.now() - started)} ms; count() = ${await Product.count()}`);

  // All or nothing: one bad row (a duplicate sku) and none of the rows is written.
  try {
    await Product.bulkInsert([{ sku: 'NEW-1', name: 'new', priceCents: 1, stock: 1 }, { sku: sku(0), name: 'dup', priceCents: 1, stock: 1 }]);
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    console.log(`  bulkInsert with a duplicate failed (${error.driverCode}); NEW-1 written: ${await Product.where({ sku: 'NEW-1' }).exists()}`);
  }

  // Upsert by sku: existing rows get the new values, new skus are inserted.
  started = performance.now();
  const priceList = Array.from({ length: 5_000 }, (_, i) => ({ sku: sku(ROWS - 2_500 + i), name: `Product ${ROWS - 2_500 + i}`, priceCents: 999, stock: 0 }));
  await Product.bulkInsertOrUpdate(priceList, { conflictKeys: ['sku'] });
  console.log(`  bulkInsertOrUpdate: 5000 rows (2500 updates, 2500 inserts) in ${Math.round(performance.now() - started)} ms; count() = ${await Product.count()}; at 999 cents: ${await Product.where({ priceCents: 999 }).count()}`);

  // `update` limits what a conflict overwrites: here only stock changes, the price stays.
  await Product.bulkInsertOrUpdate([{ sku: sku(1), name: 'ignored on conflict', priceCents: 1, stock: 500 }], { conflictKeys: ['sku'], update: ['stock'] });
  const one = (await Product.where({ sku: sku(1) }).first())!;
  console.log(`  upsert with update: ['stock'] -> ${one.name}, ${one.priceCents} cents, stock ${one.stock}`);

  // Set-based writes: one statement each, the affected row count comes back.
  const restocked = await Product.where('stock', '=', 0).update({ stock: 10 });
  const removed = await Product.where('priceCents', '<', 110).delete();
  console.log(`  where(stock = 0).update(): ${restocked} rows; where(priceCents < 110).delete(): ${removed} rows`);

  // batch(): keyset pages by primary key, so memory stays flat however many rows match.
  let pages = 0;
  let seen = 0;
  let value = 0;
  for await (const page of Product.where('stock', '<', 20).batch(1_000)) {
    pages += 1;
    seen += page.length;
    for (const product of page) value += product.priceCents * product.stock;
  }
  console.log(`  batch(1000) over stock < 20: ${seen} products in ${pages} pages, stock worth ${(value / 100).toFixed(2)}`);

  // Inside an open transaction a bulk write is a savepoint: it rolls back with the transaction.
  await Product.transaction(async () => {
    await Product.bulkInsert([{ sku: 'TEMP-1', name: 'temporary', priceCents: 1, stock: 1 }]);
    throw new Error('changed my mind');
  }).catch(() => undefined);
  console.log(`  bulkInsert inside a rolled-back transaction left TEMP-1: ${await Product.where({ sku: 'TEMP-1' }).exists()}`);
}

async function main(): Promise<void> {
  ConnectionManager.configure('sqlite', { driver: 'sqlite', database: freshSqliteFile('bulk-and-batch') });
  for (const { name, url } of serverUrls()) ConnectionManager.configure(name, { url });

  for (const name of ConnectionManager.names()) {
    const connection = ConnectionManager.get(name);
    console.log(`== ${name} (${connection.driver})`);
    await createTable(connection.knex);
    await Product.usingConnection(name, tour);
    if (connection.driver !== 'sqlite') await connection.knex.schema.dropTable('example_products');
  }
  await ConnectionManager.closeAll();
}

main().catch(async (error: unknown) => {
  console.error(error);
  await ConnectionManager.closeAll();
  process.exitCode = 1;
});
