/**
 * Connection switching: Model.using(), Model.usingConnection(), ConnectionManager.withConnections(),
 * which one wins when they are combined, and how instances remember their connection.
 *
 * SQLite only by default. With POLYRECORD_PG_URL and/or POLYRECORD_MYSQL_URL set, the
 * customers are also copied to those servers (table example_customers, dropped at the end).
 *
 * Run: npm run build && npx tsc -p tsconfig.run.json && node .build/examples/switching.js
 */
import type { Knex } from 'knex';
import { ActiveRecord, Column, ConnectionManager, ConnectionNotFoundError, Model, PrimaryKey } from 'polyrecord';
import { freshSqliteFile, serverUrls } from './support.js';

// Both models are declared on "main".
@Model({ connection: 'main', table: 'example_customers' })
class Customer extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
  @Column({ type: 'string' }) plan!: string;
}

@Model({ connection: 'main', table: 'example_invoices' })
class Invoice extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) customer!: string;
  @Column({ type: 'integer' }) cents!: number;
}

async function createTables(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('example_customers');
  await knex.schema.dropTableIfExists('example_invoices');
  await knex.schema.createTable('example_customers', (t) => {
    t.increments('id');
    t.string('name').notNullable();
    t.string('plan').notNullable();
  });
  await knex.schema.createTable('example_invoices', (t) => {
    t.increments('id');
    t.string('customer').notNullable();
    t.integer('cents').notNullable();
  });
}

/** Creates a customer and an invoice, says where each one landed, and deletes them again. */
async function whereDoWritesGo(label: string): Promise<void> {
  const customer = await Customer.create({ name: 'probe', plan: 'probe' });
  const invoice = await Invoice.create({ customer: 'probe', cents: 100 });
  console.log(`  ${label.padEnd(44)} Customer -> ${customer.connectionName}, Invoice -> ${invoice.connectionName}`);
  // destroy() runs on the connection each record was written to, whatever the scope says now.
  await customer.destroy();
  await invoice.destroy();
}

async function main(): Promise<void> {
  const sqlite = ['main', 'tenant_a', 'tenant_b'];
  for (const name of sqlite) {
    ConnectionManager.configure(name, { driver: 'sqlite', database: freshSqliteFile(`switching-${name}`) });
    await createTables(ConnectionManager.get(name).knex);
  }

  console.log('== Model.using(name): a view of the model bound to one connection');
  const TenantA = Customer.using('tenant_a');
  const acme = await TenantA.create({ name: 'Acme', plan: 'free' });
  await TenantA.create({ name: 'Initech', plan: 'free' });
  console.log(`  created Acme on "${acme.connectionName}"; tenant_a has ${await TenantA.count()}, main has ${await Customer.count()}`);
  // The instance remembers its connection: save() goes back to tenant_a without using() again.
  acme.plan = 'pro';
  await acme.save();
  console.log(`  Acme's plan on tenant_a after save(): ${(await TenantA.findOrFail(acme.id)).plan}`);

  console.log('\n== Model.usingConnection(name, fn): one model switched for an async scope');
  await Customer.usingConnection('tenant_b', async () => {
    // Code called from here needs no connection argument.
    await Customer.create({ name: 'Globex', plan: 'free' });
    await whereDoWritesGo('inside Customer.usingConnection(tenant_b)');
  });
  await whereDoWritesGo('after the scope');

  console.log('\n== ConnectionManager.withConnections(map, fn): every model on "main" remapped');
  await ConnectionManager.withConnections({ main: 'tenant_b' }, async () => {
    await whereDoWritesGo('inside withConnections({ main: tenant_b })');
  });

  console.log('\n== precedence: explicit using() > innermost scope > the model\'s own connection');
  await ConnectionManager.withConnections({ main: 'tenant_a' }, async () => {
    await whereDoWritesGo('withConnections({ main: tenant_a })');
    await Customer.usingConnection('tenant_b', async () => {
      await whereDoWritesGo('  + Customer.usingConnection(tenant_b)');
      const explicit = await Customer.using('main').create({ name: 'probe', plan: 'probe' });
      console.log(`  ${'    + Customer.using(main).create()'.padEnd(44)} Customer -> ${explicit.connectionName}`);
      await explicit.destroy();
      await ConnectionManager.withConnections({ main: 'main' }, () => whereDoWritesGo('    + withConnections({ main: main })'));
    });
  });

  console.log('\n== instances remember the connection they were loaded from');
  const loaded = await Customer.usingConnection('tenant_a', () => Customer.where({ name: 'Initech' }).first());
  loaded!.plan = 'enterprise';
  await loaded!.save(); // outside the scope, and still written to tenant_a
  console.log(`  Initech loaded from "${loaded!.connectionName}", saved outside the scope: plan on tenant_a = ${(await TenantA.where({ name: 'Initech' }).first())!.plan}`);

  console.log('\n== aliases resolve wherever a name is accepted');
  ConnectionManager.alias('current_tenant', 'tenant_a');
  const viaAlias = await Customer.using('current_tenant').orderBy('name').all();
  console.log(`  Customer.using('current_tenant') reads ${viaAlias.map((c) => c.name).join(', ')}; connectionName = "${viaAlias[0]!.connectionName}"`);

  console.log('\n== unknown names fail at once');
  try {
    Customer.using('tenant_z');
  } catch (error) {
    if (!(error instanceof ConnectionNotFoundError)) throw error;
    console.log(`  ${error.name}: ${error.message}`);
  }

  const servers = serverUrls();
  if (servers.length > 0) console.log('\n== copying tenant_a\'s customers to database servers');
  for (const { name, url } of servers) {
    const connection = ConnectionManager.configure(name, { url });
    await createTables(connection.knex);
    // Leave the id out: the server generates its own keys (an explicit id would not advance a PostgreSQL sequence).
    const rows = (await TenantA.orderBy('id').all()).map(({ name, plan }) => ({ name, plan }));
    await Customer.using(name).bulkInsert(rows);
    const copied = await Customer.using(name).orderBy('name').all();
    console.log(`  ${name} (${connection.driver}): ${copied.map((c) => `${c.name}/${c.plan}`).join(', ')}`);
    await connection.knex.schema.dropTable('example_customers');
    await connection.knex.schema.dropTable('example_invoices');
  }

  console.log('\n== where everything ended up');
  for (const name of sqlite) {
    const customers = await Customer.using(name).query().pluck('name');
    console.log(`  ${name.padEnd(8)} customers: ${customers.join(', ') || '(none)'}`);
  }
  await ConnectionManager.closeAll();
}

main().catch(async (error: unknown) => {
  console.error(error);
  await ConnectionManager.closeAll();
  process.exitCode = 1;
});
