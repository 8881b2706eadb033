/**
 * The tour `npm run demo` runs: two SQLite files, one model on each, switching a
 * model between them, and a transaction that rolls back on error and commits otherwise.
 *
 * Run: npm run demo
 */
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { ActiveRecord, Column, ConnectionManager, CreatedAt, Model, PrimaryKey, UpdatedAt } from 'polyrecord';

// This file runs as .build/examples/demo.js; its databases live in examples/data/ (gitignored).
const dataDir = fileURLToPath(new URL('../../examples/data/', import.meta.url));
const files = { primary: `${dataDir}demo-primary.sqlite`, archive: `${dataDir}demo-archive.sqlite` };

// ---- models: each class names the connection it lives on --------------------------------

@Model({ connection: 'primary', table: 'users' })
class User extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'string' }) name!: string;
  @Column({ type: 'integer' }) credits!: number;
  @CreatedAt() createdAt!: Date;
  @UpdatedAt() updatedAt!: Date;
}

@Model({ connection: 'archive', table: 'audit_log' })
class AuditEntry extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) action!: string;
  @Column({ type: 'json' }) details!: Record<string, unknown>;
  @CreatedAt() createdAt!: Date;
}

function step(title: string): void {
  console.log(`\n== ${title}`);
}

async function main(): Promise<void> {
  // Start from empty files so the demo can be run again and again.
  mkdirSync(dataDir, { recursive: true });
  for (const file of Object.values(files)) for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });

  step('configure two connections');
  ConnectionManager.configure('primary', { driver: 'sqlite', database: files.primary });
  ConnectionManager.configure('archive', { url: `sqlite:${files.archive}` });
  for (const name of ConnectionManager.names()) console.log(`${name}: ${ConnectionManager.get(name).settings}`);

  step('create the tables (knex schema builder of each connection)');
  const userTable = (t: Knex.CreateTableBuilder) => {
    t.increments('id');
    t.string('email').notNullable().unique();
    t.string('name').notNullable();
    t.integer('credits').notNullable().defaultTo(0);
    t.datetime('created_at');
    t.datetime('updated_at');
  };
  await ConnectionManager.get('primary').knex.schema.createTable('users', userTable);
  // The archive keeps old users too, in a table of the same shape.
  await ConnectionManager.get('archive').knex.schema.createTable('users', userTable);
  await ConnectionManager.get('archive').knex.schema.createTable('audit_log', (t) => {
    t.increments('id');
    t.string('action').notNullable();
    t.json('details');
    t.datetime('created_at');
  });
  console.log('primary: users; archive: users, audit_log');

  step('create, find, query');
  const ada = await User.create({ email: 'ada@example.com', name: 'Ada', credits: 100 });
  const bob = await User.create({ email: 'bob@example.com', name: 'Bob', credits: 20 });
  await User.create({ email: 'cyd@example.com', name: 'Cyd', credits: 5 });
  console.log(`created users ${ada.id}, ${bob.id} and one more on "${ada.connectionName}"`);
  const found = await User.findOrFail(bob.id);
  console.log(`find(${bob.id}) -> ${found.name} <${found.email}>, ${found.credits} credits, created ${found.createdAt.toISOString()}`);
  const rich = await User.where('credits', '>=', 10).orderBy('credits', 'desc').all();
  console.log(`users with >= 10 credits: ${rich.map((u) => `${u.name} (${u.credits})`).join(', ')}`);
  console.log(`count: ${await User.count()}; emails: ${(await User.orderBy('email').pluck('email')).join(', ')}`);
  found.credits += 1;
  console.log(`changed credits, dirty: ${JSON.stringify(found.getDirty())}`);
  await found.save();
  console.log(`saved; dirty now: ${found.isDirty()}`);
  await AuditEntry.create({ action: 'users.seeded', details: { count: 3 } });
  console.log(`AuditEntry is declared on "archive": ${await AuditEntry.count()} entry there`);

  step('Model.using(name): copy a record to the other database');
  const cyd = (await User.where({ name: 'Cyd' }).first())!;
  const { id, email, name, credits, createdAt } = cyd;
  const copy = await User.using('archive').create({ id, email, name, credits, createdAt });
  console.log(`copied ${copy.name} (id ${copy.id}) to "${copy.connectionName}"`);
  // The instance remembers where it came from: destroy() runs on primary, save() on the copy runs on archive.
  await cyd.destroy();
  copy.name = 'Cyd (archived)';
  await copy.save();
  console.log(`users on primary: ${await User.count()}, on archive: ${await User.using('archive').count()}`);
  console.log(`archive has: ${(await User.using('archive').query().pluck('name')).join(', ')}`);

  step('Model.usingConnection(name, fn): switch for everything awaited inside fn');
  // This helper knows nothing about connections; the caller decides where it runs.
  const describeUsers = async () => (await User.orderBy('name').all()).map((u) => `${u.name}@${u.connectionName}`).join(', ');
  console.log(`outside:         ${await describeUsers()}`);
  console.log(`inside archive:  ${await User.usingConnection('archive', describeUsers)}`);
  const [onPrimary, onArchive] = await Promise.all([describeUsers(), User.usingConnection('archive', describeUsers)]);
  console.log(`concurrently:    ${onPrimary} | ${onArchive}`);

  step('transactions: an error rolls back, success commits');
  async function transfer(fromId: number, toId: number, amount: number): Promise<void> {
    await User.transaction(async (trx) => {
      const from = await User.findOrFail(fromId);
      const to = await User.findOrFail(toId);
      from.credits -= amount;
      to.credits += amount;
      await from.save();
      await to.save();
      // Runs only if the whole transaction commits.
      trx.afterCommit(() => console.log(`  afterCommit: ${amount} credits moved from ${from.name} to ${to.name}`));
      if (from.credits < 0) throw new Error(`${from.name} would have ${from.credits} credits`);
    });
  }
  const balances = async () => (await User.orderBy('name').all()).map((u) => `${u.name}=${u.credits}`).join(', ');
  console.log(`before:          ${await balances()}`);
  try {
    await transfer(bob.id, ada.id, 500);
  } catch (error) {
    console.log(`transfer of 500 failed: ${(error as Error).message}; rolled back`);
  }
  console.log(`after rollback:  ${await balances()}`);
  await transfer(ada.id, bob.id, 30);
  console.log(`after commit:    ${await balances()}`);

  step('health');
  for (const report of await ConnectionManager.health()) console.log(`${report.name}: ${report.ok ? 'ok' : `down (${report.error})`} in ${report.latencyMs} ms`);

  await ConnectionManager.closeAll();
  console.log('\nclosed all connections; the files are in examples/data/');
}

main().catch(async (error: unknown) => {
  console.error(error);
  await ConnectionManager.closeAll();
  process.exitCode = 1;
});
