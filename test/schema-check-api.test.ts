import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActiveRecord, Column, ConfigError, configureFrom, ConnectionManager, ConnectionNotFoundError, defineConfig, makeMigrationFromModels, migrate, Model, ModelDefinitionError, PrimaryKey, schemaCheck } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

describeEachDialect('schemaCheck() and makeMigrationFromModels() from code', (dialect) => {
  const manager = new ConnectionManager();
  const dir = mkdtempSync(join(tmpdir(), 'polyrecord-schema-api-'));
  let drop: () => Promise<void>;

  @Model({ connection: 'main', table: 'sca_widgets', manager })
  class Widget extends ActiveRecord {
    @PrimaryKey({ type: 'bigint' }) id!: bigint;
    @Column({ type: 'string', nullable: false }) name!: string;
    @Column({ type: 'json' }) specs!: unknown;
    @Column({ type: 'datetime', nullable: true }) shippedAt!: Date | null;
  }

  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    configureFrom(defineConfig({ connections: { main: provisioned.configs[0]! }, migrations: { main: { directory: 'main' } } }), manager, { baseDir: dir });
  });
  afterAll(async () => {
    await manager.closeAll();
    await drop();
  });

  it('reports the missing table, writes an ES module migration that creates it, and then reports nothing', async () => {
    const before = await schemaCheck({ manager, models: [Widget] });
    expect(before.ok).toBe(false);
    expect(before.checked).toEqual([{ connection: 'main', model: 'Widget', table: 'sca_widgets' }]);
    expect(before.problems.map((p) => p.kind)).toEqual(['missing-table']);

    const file = await makeMigrationFromModels('widgets', { manager, connection: 'main', kind: 'mjs', models: [Widget], now: new Date('2026-12-06T20:00:00Z') });
    expect(file).toBe(join(dir, 'main', '20261206200000_widgets.mjs'));
    expect(readFileSync(file!, 'utf8')).toContain("export async function up(knex) {\n  await knex.schema.createTable('sca_widgets', (t) => {\n    t.bigIncrements('id')");
    expect((await migrate({ manager }))[0]!.files).toEqual(['20261206200000_widgets.mjs']);
    expect(await schemaCheck({ manager, models: [Widget] })).toEqual({ ok: true, checked: before.checked, problems: [] });
    expect(await makeMigrationFromModels('again', { manager, connection: 'main', kind: 'mjs', models: [Widget] })).toBeUndefined();

    // What the table now holds round-trips through the model.
    const widget = await Widget.create({ name: 'gear', specs: { teeth: 12 }, shippedAt: null });
    expect(await Widget.findOrFail(widget.id)).toMatchObject({ name: 'gear', specs: { teeth: 12 }, shippedAt: null });
  });

  it('a warning alone leaves the report ok: an integer property on a 64-bit column of a server', async () => {
    @Model({ connection: 'main', table: 'sca_counters', manager })
    class Counter extends ActiveRecord {
      @PrimaryKey({ type: 'integer' }) id!: number;
      @Column({ type: 'integer' }) hits!: number;
    }
    await manager.get('main').knex.schema.createTable('sca_counters', (t) => {
      t.increments('id');
      t.bigInteger('hits');
    });
    const report = await schemaCheck({ manager, models: [Counter] });
    expect(report.ok).toBe(true);
    expect(report.problems.map(({ kind, column, severity }) => ({ kind, column, severity }))).toEqual(dialect.driver === 'sqlite' ? [] : [{ kind: 'type', column: 'hits', severity: 'warning' }]);
  });

  it('refuses, naming the field, what the config gets wrong, and unknown connections', async () => {
    await expect(schemaCheck({ manager, models: [class NotAModel {}] })).rejects.toThrow(ConfigError);
    await expect(schemaCheck({ manager, models: [Widget], connections: ['nope'] })).rejects.toThrow(ConnectionNotFoundError);
    // Typed jobs refuse 42 at compile time; a JavaScript config can still hold it.
    const config = defineConfig({ connections: {}, jobs: { broken: 42 as never } });
    await expect(schemaCheck({ manager, config, models: [Widget] })).rejects.toThrow(/jobs\.broken/);
    await expect(makeMigrationFromModels('x', { manager, connection: 'main', kind: 'ts', models: ['Nobody'] })).rejects.toThrow(ConfigError);
  });

  it('refuses a nullable option that is not a boolean when the model is defined', () => {
    expect(() => {
      @Model({ connection: 'main', table: 'sca_bad', manager })
      class Bad extends ActiveRecord {
        @Column({ type: 'string', nullable: 'yes' as never }) name!: string;
      }
      return Bad;
    }).toThrow(ModelDefinitionError);
  });
});
