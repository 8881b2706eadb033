/**
 * Keeping a copy on another database in step: @SyncTo copies each committed change in
 * real time, @Outbox records the same change in the same transaction, and an
 * OutboxRelay delivers those events at least once, in order per record. A real-time
 * copy that fails (here: the target table is renamed away) is repaired by the relay.
 * Also: a handler for events of a model without @SyncTo, the event payload format,
 * retries, a dead event that holds back its record until retryDead(), start()/stop().
 *
 * Two SQLite files, no server. Run: npm run build && npx tsc -p tsconfig.run.json && node .build/examples/outbox-and-sync.js
 */
import { ActiveRecord, Column, ConnectionManager, ensureOutboxTable, Model, Outbox, OUTBOX_TABLE, OutboxRelay, PrimaryKey, SyncTo, UpdatedAt, type OutboxEvent, type RelayRunResult } from 'polyrecord';
import { freshSqliteFile } from './support.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- models ------------------------------------------------------------------------------

/** The analytics copy of a customer, on another database. `customerId` is unique there. */
@Model({ connection: 'analytics', table: 'customer_copies' })
class CustomerCopy extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) customerId!: number;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'string' }) plan!: string;
}

/** A customer: every change is copied after commit (@SyncTo) and recorded in the outbox (@Outbox). */
@Outbox()
@SyncTo({
  connection: 'analytics',
  model: CustomerCopy,
  map: (c: Customer) => ({ customerId: c.id, email: c.email, plan: c.plan }),
  conflictKeys: ['customerId'],
  delete: true,
})
@Model({ connection: 'shop', table: 'customers' })
class Customer extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'string' }) plan!: string;
  @UpdatedAt() updatedAt!: Date;
}

/** An order: outbox only (the `outbox: true` option is the same as @Outbox()); a relay handler publishes it. */
@Model({ connection: 'shop', table: 'orders', outbox: true })
class Order extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) customerId!: number;
  @Column({ type: 'string' }) status!: string;
  @Column({ type: 'bigint' }) totalCents!: bigint;
  @Column({ type: 'json' }) items!: Array<{ sku: string; qty: number }>;
  @Column({ type: 'datetime' }) placedAt!: Date;
}

/** A pretend message bus the Order handler publishes to; it can be "down". */
const bus = {
  down: false,
  async publish(topic: string, message: string): Promise<void> {
    await sleep(1);
    if (this.down) throw new Error('message bus unreachable');
    console.log(`    bus <- ${topic}: ${message}`);
  },
};

// ---- helpers that print what is where ----------------------------------------------------

const shop = () => ConnectionManager.get('shop').knex;
const analytics = () => ConnectionManager.get('analytics').knex;

/** Prints the outbox: events done as a list of ids, the others one per line. */
async function showOutbox(): Promise<void> {
  const rows = await shop()(OUTBOX_TABLE).orderBy('id').select('id', 'aggregate', 'aggregate_key', 'event_type', 'status', 'attempts');
  const done = rows.filter((r) => r.status === 'done').map((r) => `#${r.id}`);
  console.log(`  outbox: ${rows.length} events${done.length > 0 ? `, done: ${done.join(' ')}` : ''}`);
  for (const r of rows.filter((row) => row.status !== 'done')) {
    console.log(`    #${r.id} ${r.aggregate} ${r.aggregate_key} ${r.event_type}: ${r.status}${r.attempts > 0 ? ` after ${r.attempts} attempt(s)` : ''}`);
  }
}

async function compare(): Promise<void> {
  const source = (await Customer.orderBy('id').all()).map((c) => `${c.id}:${c.email}/${c.plan}`).join(' ');
  const copy = (await CustomerCopy.orderBy('customerId').all()).map((c) => `${c.customerId}:${c.email}/${c.plan}`).join(' ');
  console.log(`  shop customers:   ${source || '(none)'}`);
  console.log(`  analytics copies: ${copy || '(none)'}${source === copy ? '   (in step)' : '   (DIFFERENT)'}`);
}

/** runOnce() until a round finds nothing due; each round delivers at most one event per record. */
async function drain(relay: OutboxRelay): Promise<void> {
  const rounds: RelayRunResult[] = [];
  for (;;) {
    const result = await relay.runOnce();
    if (result.delivered + result.failed + result.dead === 0) break;
    rounds.push(result);
  }
  console.log(`  relay: ${rounds.length} round(s), delivered ${rounds.map((r) => r.delivered).join(' + ') || '0'}`);
}

// ---- the tour ----------------------------------------------------------------------------

async function main(): Promise<void> {
  ConnectionManager.configure('shop', { driver: 'sqlite', database: freshSqliteFile('outbox-shop') });
  ConnectionManager.configure('analytics', { driver: 'sqlite', database: freshSqliteFile('outbox-analytics') });
  await shop().schema.createTable('customers', (t) => {
    t.increments('id');
    t.string('email').notNullable();
    t.string('plan').notNullable();
    t.datetime('updated_at');
  });
  await shop().schema.createTable('orders', (t) => {
    t.increments('id');
    t.integer('customer_id').notNullable();
    t.string('status').notNullable();
    t.bigInteger('total_cents').notNullable();
    t.json('items').notNullable();
    t.datetime('placed_at').notNullable();
  });
  await analytics().schema.createTable('customer_copies', (t) => {
    t.increments('id');
    t.integer('customer_id').notNullable().unique(); // the conflict key of the copy's upsert
    t.string('email').notNullable();
    t.string('plan').notNullable();
  });
  await ensureOutboxTable('shop'); // polyrecord_outbox, next to the tables whose changes it records

  Customer.events.on('syncFailed', ({ target, instance, error }) =>
    console.log(`  'syncFailed': copy of customer ${(instance as Customer).id} to ${target} failed: ${(error as Error).message.split('\n')[0]}`),
  );

  console.log('== writes: each committed change is copied at once, and recorded in the outbox');
  const ada = await Customer.create({ email: 'ada@example.com', plan: 'free' });
  const bob = await Customer.create({ email: 'bob@example.com', plan: 'free' });
  ada.plan = 'pro';
  await ada.save();
  await compare();
  await showOutbox();

  console.log('\n== a transaction: the change and its outbox row commit together, or neither does');
  await Customer.transaction(async () => {
    await Customer.create({ email: 'eve@example.com', plan: 'free' });
    throw new Error('abandoned sign-up');
  }).catch(async (error: Error) => console.log(`  rolled back ("${error.message}"): ${await Customer.count()} customers, ${(await shop()(OUTBOX_TABLE).count({ n: '*' }))[0]!.n} outbox rows`));
  await Customer.transaction(async () => {
    const cyd = await Customer.create({ email: 'cyd@example.com', plan: 'free' });
    cyd.plan = 'team';
    await cyd.save();
    console.log(`  inside the transaction: ${await CustomerCopy.count()} copies (the copy waits for the commit)`);
  });
  console.log('  committed: one copy with the final state; two outbox events');
  await compare();

  console.log('\n== the relay delivers the outbox (here by hand with runOnce(); a service would call start())');
  // Customer has @SyncTo and no handler: its events are applied to the sync target (an
  // idempotent upsert or delete, so copies that already arrived in real time are harmless).
  // Order has no @SyncTo: its events go to this handler.
  let shown = false;
  const relay = new OutboxRelay({
    connection: 'shop',
    maxAttempts: 3,
    backoff: { baseMs: 20, maxMs: 40 },
    handlers: {
      Order: async (event: OutboxEvent) => {
        if (!shown) {
          shown = true;
          console.log(`    payload as stored: ${JSON.stringify(event.payload)}`);
          const order = event.record<Order>();
          console.log(`    event.record():    Order ${order.id}, totalCents ${order.totalCents}n (${typeof order.totalCents}), items ${order.items.length} (array), placedAt ${order.placedAt.toISOString()} (Date)`);
        }
        await bus.publish(`order.${event.type}`, `order ${event.key} (attempt ${event.attempts})`);
      },
    },
  });
  relay.events.on('failed', (event, error) => console.log(`    failed: ${event.aggregate} ${event.key} ${event.type}, attempt ${event.attempts}: ${(error as Error).message}`));
  relay.events.on('dead', (event, error) => console.log(`    dead:   ${event.aggregate} ${event.key} ${event.type} after ${event.attempts} attempts: ${(error as Error).message}`));
  relay.events.on('error', (error) => console.log(`    relay round failed: ${(error as Error).message}`));

  await Order.create({ customerId: ada.id, status: 'placed', totalCents: 12_999n, items: [{ sku: 'BOOK-1', qty: 1 }], placedAt: new Date('2026-03-01T10:00:00Z') });
  await showOutbox();
  await drain(relay); // customers 1 and 3 have two events each: the second waits for the next round
  await showOutbox();

  console.log('\n== a real-time copy fails: the source write stands, the copy is stale');
  await analytics().schema.renameTable('customer_copies', 'customer_copies_offline');
  bob.plan = 'pro';
  await bob.save();
  console.log(`  bob.save() resolved; shop has bob on "${(await Customer.findOrFail(bob.id)).plan}"`);
  await analytics().schema.renameTable('customer_copies_offline', 'customer_copies');
  await compare();

  console.log('\n== the relay repairs it: the outbox still has the event');
  await drain(relay);
  await compare();

  console.log('\n== delivery fails: retries with backoff, then the event is dead and holds back its record');
  bus.down = true;
  const order = await Order.create({ customerId: bob.id, status: 'placed', totalCents: 4_500n, items: [{ sku: 'PEN-3', qty: 3 }], placedAt: new Date('2026-03-02T09:30:00Z') });
  order.status = 'paid';
  await order.save();
  for (let round = 1; round <= 3; round++) {
    await relay.runOnce();
    await sleep(60); // longer than the backoff, so the retry is due in the next round
  }
  const after = await relay.runOnce();
  console.log(`  next round: delivered ${after.delivered} (the 'updated' event waits behind the dead 'created' one)`);
  await showOutbox();

  console.log('\n== the bus is back: retryDead() revives the event, and the record\'s events go out in order');
  bus.down = false;
  console.log(`  retryDead(): ${await relay.retryDead()} event(s) back to pending`);
  await drain(relay);

  console.log('\n== start() polls in the background; stop() finishes what is in flight and returns the rest of its claim');
  const looping = new OutboxRelay({ connection: 'shop', pollIntervalMs: 20 });
  let delivered = 0;
  looping.events.on('delivered', (event) => {
    delivered += 1;
    console.log(`    delivered ${event.aggregate} ${event.key} ${event.type}`);
  });
  looping.events.on('error', (error) => console.log(`    relay round failed: ${(error as Error).message}`));
  looping.start();
  await bob.destroy(); // @SyncTo deletes the copy at once; the relay's delivery deletes it again (if it still exists)
  while (delivered < 1) await sleep(5);
  await looping.stop();
  console.log('  stopped');
  await compare();
  await showOutbox();

  await ConnectionManager.closeAll();
}

main().catch(async (error: unknown) => {
  console.error(error);
  await ConnectionManager.closeAll();
  process.exitCode = 1;
});
