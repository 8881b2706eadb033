import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configureFrom, ConnectionManager, defineConfig, migrate, MigrationError } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { writeMigrations } from './support/migration-files.js';

const ROWS = `export async function up(knex) { await knex.schema.createTable('mt_rows', (t) => { t.increments('id'); t.string('name') }) }
export async function down(knex) { await knex.schema.dropTable('mt_rows') }
`;

/** A migration that writes a row and then fails; `config` is its knex per-file settings export, if any. */
const insertThenFail = (config: string) => `${config}
export async function up(knex) {
  await knex('mt_rows').insert({ name: 'written before the failure' })
  throw new Error('planted failure')
}
export async function down() {}
`;

describeEachDialect('a migration file that exports config = { transaction: false }', (dialect) => {
  const manager = new ConnectionManager();
  const dir = mkdtempSync(join(tmpdir(), 'polyrecord-migration-trx-'));
  let drop: () => Promise<void>;
  // A loaded file stays in the module cache: each variant gets a name of its own, and a failed one is removed.
  const remove = (file: string) => rmSync(join(dir, 'main', file));
  const rows = async () => Number((await manager.get('main').knex('mt_rows').count({ n: '*' }))[0]!.n);

  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    configureFrom(defineConfig({ connections: { main: provisioned.configs[0]! }, migrations: { main: { directory: 'main' } } }), manager, { baseDir: dir });
    writeMigrations(join(dir, 'main'), { '001_rows.mjs': ROWS });
    await migrate({ manager });
  });
  afterAll(async () => {
    await manager.closeAll();
    await drop();
  });

  it('runs outside a transaction: what it wrote before failing stays, where a transactional file is undone', async () => {
    writeMigrations(join(dir, 'main'), { '002_in_transaction.mjs': insertThenFail('') });
    await expect(migrate({ manager })).rejects.toThrow(MigrationError);
    expect(await rows()).toBe(0);
    remove('002_in_transaction.mjs');

    writeMigrations(join(dir, 'main'), { '002_no_transaction.mjs': insertThenFail('export const config = { transaction: false }') });
    await expect(migrate({ manager })).rejects.toThrow(/002_no_transaction\.mjs: planted failure/);
    expect(await rows()).toBe(1);
    remove('002_no_transaction.mjs');
  });

  it('refuses a config export that is not an object, naming the file', async () => {
    writeMigrations(join(dir, 'main'), { '002_bad_config.mjs': 'export const config = false\nexport async function up() {}\nexport async function down() {}\n' });
    await expect(migrate({ manager })).rejects.toThrow(/002_bad_config\.mjs: a migration file's `config` export must be an object/);
    remove('002_bad_config.mjs');
  });

  if (dialect.driver === 'postgresql') {
    it('lets PostgreSQL run CREATE INDEX CONCURRENTLY, which a transaction refuses', async () => {
      const concurrently = (config: string) => `${config}
export async function up(knex) { await knex.raw('create index concurrently mt_rows_name on mt_rows (name)') }
export async function down(knex) { await knex.raw('drop index concurrently mt_rows_name') }
`;
      writeMigrations(join(dir, 'main'), { '003_index_in_transaction.mjs': concurrently('') });
      await expect(migrate({ manager })).rejects.toThrow(/CREATE INDEX CONCURRENTLY cannot run inside a transaction block/);
      remove('003_index_in_transaction.mjs');
      writeMigrations(join(dir, 'main'), { '003_index.mjs': concurrently('export const config = { transaction: false }') });
      expect((await migrate({ manager }))[0]!.files).toEqual(['003_index.mjs']);
      const { rows: found } = await manager.get('main').execute("select indexname from pg_indexes where tablename = 'mt_rows' and indexname = 'mt_rows_name'", []);
      expect(found).toHaveLength(1);
    });
  }
});
