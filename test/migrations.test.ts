import { inspect } from 'node:util';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configureFrom, ConnectionManager, ConnectionNotFoundError, ConfigError, DEFAULT_MIGRATIONS_TABLE, defineConfig, makeMigration, migrate, migrateRollback, MigrationError, migrationStatus } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { FAILING_MIGRATION, tableMigration, writeMigrations } from './support/migration-files.js';

describeEachDialect('migrate()', (dialect) => {
  const manager = new ConnectionManager();
  const dir = mkdtempSync(join(tmpdir(), 'polyrecord-migrations-'));
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const provisioned = await dialect.provision(2);
    drop = provisioned.drop;
    writeMigrations(join(dir, 'main'), { '001_authors.ts': tableMigration('authors'), '002_books.mjs': tableMigration('books', 'mjs') });
    writeMigrations(join(dir, 'other'), { '001_notes.ts': tableMigration('notes') });
    configureFrom(
      defineConfig({
        connections: { main: provisioned.configs[0]!, other: provisioned.configs[1]! },
        aliases: { primary: 'main' },
        migrations: { main: { directory: 'main' }, other: { directory: 'other', tableName: 'schema_versions' } },
      }),
      manager,
      { baseDir: dir },
    );
  });
  afterAll(async () => {
    await manager.closeAll();
    await drop();
  });

  it('applies every connection in config order, .ts and .mjs files alike, each in its own table', async () => {
    const runs = await migrate({ manager });
    expect(runs.map(({ connection, batch, files }) => ({ connection, batch, files }))).toEqual([
      { connection: 'main', batch: 1, files: ['001_authors.ts', '002_books.mjs'] },
      { connection: 'other', batch: 1, files: ['001_notes.ts'] },
    ]);
    expect(runs[0]!.transactionalDdl).toBe(dialect.driver !== 'mysql');
    expect(await manager.get('main').knex.schema.hasTable(DEFAULT_MIGRATIONS_TABLE)).toBe(true);
    expect(await manager.get('other').knex.schema.hasTable('schema_versions')).toBe(true);
    expect(await manager.get('other').knex.schema.hasTable('books')).toBe(false);
    expect(await migrate({ manager })).toEqual(runs.map((run) => ({ ...run, batch: 1, files: [] })));
  });

  it('reports status, rolls back by step or by batch, and visits only the connections named (aliases too)', async () => {
    expect(await migrationStatus({ manager })).toEqual([
      { connection: 'main', applied: ['001_authors.ts', '002_books.mjs'], pending: [] },
      { connection: 'other', applied: ['001_notes.ts'], pending: [] },
    ]);
    const [stepped] = await migrateRollback({ manager, connections: ['primary'], step: 1 });
    expect(stepped!.files).toEqual(['002_books.mjs']);
    expect(await manager.get('main').knex.schema.hasTable('books')).toBe(false);
    expect((await migrationStatus({ manager, connections: ['main'] }))[0]!.pending).toEqual(['002_books.mjs']);
    const batches = await migrateRollback({ manager });
    expect(batches.map(({ connection, files }) => ({ connection, files }))).toEqual([
      { connection: 'other', files: ['001_notes.ts'] },
      { connection: 'main', files: ['001_authors.ts'] },
    ]);
  });

  it('checks every name before anything runs', async () => {
    await expect(migrate({ manager, connections: ['main', 'nope'] })).rejects.toThrow(ConnectionNotFoundError);
    const bare = new ConnectionManager();
    await expect(migrate({ manager: bare })).rejects.toThrow(ConfigError);
    expect(await manager.get('main').knex.schema.hasTable('authors')).toBe(false);
  });

  it('writes a new migration that then runs', async () => {
    const file = makeMigration('add widgets', { manager, connection: 'primary', kind: 'ts', now: new Date('2026-12-06T19:05:12Z') });
    expect(basename(file)).toBe('20261206190512_add_widgets.ts');
    expect(existsSync(join(dir, 'main', basename(file)))).toBe(true);
    const [run] = await migrate({ manager, connections: ['main'] });
    expect(run!.files).toContain(basename(file));
  });

  it('stops at a failing file, names connection, file and statement, and keeps earlier connections migrated', async () => {
    writeMigrations(join(dir, 'other'), { '002_broken.mjs': FAILING_MIGRATION });
    const error = await migrate({ manager }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    const failure = error as MigrationError;
    expect(failure.connection).toBe('other');
    expect(failure.file).toBe('002_broken.mjs');
    expect(failure.statement).toMatch(/no_such_table/);
    expect(failure.message).toMatch(/connection "other", file 002_broken\.mjs/);
    expect(failure.completed.map((run) => run.connection)).toEqual(['main']);
    // Transactional DDL undoes the table the file created before failing; MariaDB cannot.
    expect(await manager.get('other').knex.schema.hasTable('before_failure')).toBe(dialect.driver === 'mysql');
    expect(failure.message.includes('commits DDL implicitly')).toBe(dialect.driver === 'mysql');
  });

  // MariaDB's root here has no password, so a configured one would be refused at login.
  it.runIf(dialect.driver !== 'mysql')('never shows the password: not in the message, the statement, nor the cause', async () => {
    const secret = 'pw-s3cret-42';
    const guarded = new ConnectionManager();
    const provisioned = await dialect.provision(1);
    try {
      writeMigrations(join(dir, 'guarded'), { '001_leaky.mjs': `export async function up(knex) { await knex.raw("insert into no_such_table (note) values ('${secret}')") }\nexport async function down() {}\n` });
      configureFrom(defineConfig({ connections: { guarded: { ...provisioned.configs[0]!, password: secret } }, migrations: { guarded: { directory: 'guarded' } } }), guarded, { baseDir: dir });
      const error = (await migrate({ manager: guarded }).catch((e: unknown) => e)) as MigrationError;
      expect(error).toBeInstanceOf(MigrationError);
      expect(error.statement).toMatch(/no_such_table/);
      expect(`${error.message} ${error.statement} ${inspect(error, { depth: 5 })}`).not.toContain(secret);
    } finally {
      await guarded.closeAll();
      await provisioned.drop();
    }
  });
});
