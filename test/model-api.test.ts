import type { Knex } from 'knex';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, ConnectionNotFoundError, Model, PrimaryKey, QueryBuilderError, UnknownColumnError, type Changes } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

/**
 * Models bound to a manager of their own (`@Model({ manager })`), `fill()`, and the
 * `rolledBack` / `committed` model events, on every dialect.
 */

/** The non-default manager the tenant models are bound to. */
const tenants = new ConnectionManager();

@Model({ connection: 'main', table: 'items', manager: tenants })
class TenantItem extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) label!: string;
  @Column({ type: 'integer' }) qty!: number | null;
  @Column({ type: 'string', name: 'note_text' }) note!: string | null;
}

/** Same connection name and table, on the default manager (which points `main` at another database). */
@Model({ connection: 'main', table: 'items' })
class DefaultItem extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) label!: string;
  @Column({ type: 'integer' }) qty!: number | null;
  @Column({ type: 'string', name: 'note_text' }) note!: string | null;
}

/** On a connection the default manager does not have at all. */
@Model({ connection: 'tenant-only', table: 'items', manager: tenants })
class TenantOnlyItem extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) label!: string;
}

async function createItemsTable(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('items');
  await knex.schema.createTable('items', (t) => {
    t.increments('id');
    t.string('label', 100).notNullable().unique();
    t.integer('qty');
    t.string('note_text', 100);
  });
}

describeEachDialect('models on a non-default ConnectionManager', (dialect) => {
  /** Reads the databases directly, through a third manager the models know nothing about. */
  const inspector = new ConnectionManager();
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const provisioned = await dialect.provision(3);
    drop = provisioned.drop;
    const [tenantMain, defaultMain, tenantOnly] = provisioned.configs as [never, never, never];
    tenants.configure('main', tenantMain);
    tenants.configure('tenant-only', tenantOnly);
    ConnectionManager.configure('main', defaultMain);
    ConnectionManager.configure('default-only', defaultMain);
    inspector.configure('tenant-main', tenantMain);
    inspector.configure('default-main', defaultMain);
    inspector.configure('tenant-only', tenantOnly);
    for (const name of inspector.names()) await createItemsTable(inspector.get(name).knex);
  });
  afterAll(async () => {
    await tenants.closeAll();
    await ConnectionManager.closeAll();
    await inspector.closeAll();
    await drop();
  });
  beforeEach(async () => {
    for (const name of inspector.names()) await inspector.get(name).knex('items').delete();
  });

  /** The labels stored in one database, read without polyrecord's models. */
  const labelsIn = async (database: 'tenant-main' | 'default-main' | 'tenant-only') => ((await inspector.get(database).knex('items').orderBy('label').pluck('label')) as string[]);
  const rowIn = async (database: 'tenant-main' | 'default-main', label: string) =>
    (await inspector.get(database).knex('items').where({ label }).first()) as { label: string; qty: number | null; note_text: string | null } | undefined;

  it('writes and reads go to the model manager’s connection, not to the default manager’s connection of the same name', async () => {
    const t1 = await TenantItem.create({ label: 't1', qty: 1 });
    await DefaultItem.create({ label: 'd1', qty: 1 });
    await new TenantItem().fill({ label: 't2' }).save();
    await TenantItem.bulkInsert([{ label: 't3' }, { label: 't4' }]);
    expect(await TenantItem.where({ label: 't1' }).update({ qty: 5 })).toBe(1);

    expect(await labelsIn('tenant-main')).toEqual(['t1', 't2', 't3', 't4']);
    expect(await labelsIn('default-main')).toEqual(['d1']);
    expect((await rowIn('tenant-main', 't1'))?.qty).toBe(5);
    expect((await rowIn('default-main', 'd1'))?.qty).toBe(1);

    // Reads: every read path sees the tenant database only.
    expect((await TenantItem.orderBy('label').pluck('label')).sort()).toEqual(['t1', 't2', 't3', 't4']);
    expect(await TenantItem.count()).toBe(4);
    expect(await TenantItem.where({ label: 'd1' }).exists()).toBe(false);
    expect((await TenantItem.findOrFail(t1.id)).qty).toBe(5);
    expect((await TenantItem.rawQuery('select * from items where label = ?', ['t2'])).map((r) => r.label)).toEqual(['t2']);
    expect(await DefaultItem.pluck('label')).toEqual(['d1']);

    // Instance writes (update, destroy, reload) follow the record to its manager.
    const t3 = (await TenantItem.where({ label: 't3' }).first())!;
    t3.qty = 33;
    await t3.save();
    await (await TenantItem.where({ label: 't4' }).first())!.destroy();
    expect(await labelsIn('tenant-main')).toEqual(['t1', 't2', 't3']);
    expect((await rowIn('tenant-main', 't3'))?.qty).toBe(33);
    await inspector.get('tenant-main').knex('items').where({ label: 't3' }).update({ qty: 34 });
    expect((await t3.reload()).qty).toBe(34);
    expect(await labelsIn('default-main')).toEqual(['d1']);
  });

  it('a connection only its manager has: found through that manager, never through the default one', async () => {
    expect(ConnectionManager.has('tenant-only')).toBe(false);
    const created = await TenantOnlyItem.create({ label: 'only' });
    expect(created.connectionName).toBe('tenant-only');
    expect((await TenantOnlyItem.findOrFail(created.id)).label).toBe('only');

    // Switching resolves names on the model's manager too.
    await TenantItem.using('tenant-only').create({ label: 'switched' });
    expect(await TenantItem.usingConnection('tenant-only', () => TenantItem.pluck('label'))).toEqual(expect.arrayContaining(['only', 'switched']));
    await tenants.withConnections({ main: 'tenant-only' }, () => TenantItem.create({ label: 'remapped' }));
    expect(await labelsIn('tenant-only')).toEqual(['only', 'remapped', 'switched']);
    expect(await labelsIn('tenant-main')).toEqual([]);
    expect(await labelsIn('default-main')).toEqual([]);

    expect(() => DefaultItem.using('tenant-only')).toThrow(ConnectionNotFoundError);
    // `default-only` exists on the default manager only: a tenant model cannot reach it.
    expect(() => TenantItem.using('default-only')).toThrow(ConnectionNotFoundError);
    expect(() => TenantItem.usingConnection('default-only', () => undefined)).toThrow(ConnectionNotFoundError);
  });

  it('transactions of a tenant model run on the tenant database: a rollback undoes, a commit keeps', async () => {
    await expect(
      TenantItem.transaction(async () => {
        await TenantItem.create({ label: 'rolled' });
        expect(await TenantItem.count()).toBe(1);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await labelsIn('tenant-main')).toEqual([]);

    await tenants.transaction('main', async () => {
      await TenantItem.create({ label: 'kept' });
      await TenantItem.where({ label: 'kept' }).update({ qty: 2 });
    });
    expect(await labelsIn('tenant-main')).toEqual(['kept']);
    expect((await rowIn('tenant-main', 'kept'))?.qty).toBe(2);
    expect(await labelsIn('default-main')).toEqual([]);
  });

  // Open transactions are matched by the Connection, not only its name: the default manager's `main` is another connection.
  it('a tenant model written inside a transaction of the default manager’s same-named connection still writes to its own database', async () => {
    await ConnectionManager.transaction('main', async () => {
      await DefaultItem.create({ label: 'default-in-trx' });
      await TenantItem.create({ label: 'tenant-in-default-trx' });
    });
    expect(await labelsIn('default-main')).toEqual(['default-in-trx']);
    expect(await labelsIn('tenant-main')).toEqual(['tenant-in-default-trx']);
  });

  it('fill() assigns known properties, returns the record, and save() writes what it assigned', async () => {
    const item = new TenantItem();
    expect(item.fill({ label: 'filled', qty: 3, note: 'n' })).toBe(item);
    expect([item.label, item.qty, item.note]).toEqual(['filled', 3, 'n']);
    expect(item.isPersisted).toBe(false);
    expect(item.getDirty()).toEqual({ label: 'filled', qty: 3, note: 'n' });

    await item.save();
    expect(item.isPersisted).toBe(true);
    // `note` is stored in the column `note_text`.
    expect(await rowIn('tenant-main', 'filled')).toMatchObject({ label: 'filled', qty: 3, note_text: 'n' });

    // On a loaded record: only what fill() changed is dirty, and save() writes it.
    const loaded = (await TenantItem.find(item.id))!;
    expect(loaded.fill({ qty: 9, note: null })).toBe(loaded);
    expect(loaded.getDirty()).toEqual({ qty: 9, note: null });
    await loaded.save();
    expect(await rowIn('tenant-main', 'filled')).toMatchObject({ label: 'filled', qty: 9, note_text: null });
  });

  it('fill() refuses unknown properties (and column names) with UnknownColumnError, and a non-object with QueryBuilderError', async () => {
    const item = new TenantItem();
    const refuse = (attributes: unknown) => {
      try {
        item.fill(attributes as never);
      } catch (error) {
        return error;
      }
      return undefined;
    };

    const unknown = refuse({ colour: 'blue' }) as UnknownColumnError;
    expect(unknown).toBeInstanceOf(UnknownColumnError);
    expect(unknown).toBeInstanceOf(QueryBuilderError);
    expect(unknown.code).toBe('E_INVALID_QUERY');
    expect(unknown.model).toBe('TenantItem');
    expect(unknown.property).toBe('colour');
    expect(unknown.message).toContain('"colour"');
    expect(unknown.message).toContain('Known properties: id, label, qty, note');
    expect(Object.keys(item)).not.toContain('colour');

    // Properties are named by property, not by column: `note_text` is the column of `note`.
    const byColumn = refuse({ note_text: 'x' }) as UnknownColumnError;
    expect(byColumn).toBeInstanceOf(UnknownColumnError);
    expect(byColumn.property).toBe('note_text');
    expect(Object.keys(item)).not.toContain('note_text');

    for (const bad of [null, 'label', 42]) {
      const error = refuse(bad);
      expect(error, String(bad)).toBeInstanceOf(QueryBuilderError);
      expect((error as Error).message).toContain('TenantItem.fill() takes an object');
    }

    // Nothing refused reached the database.
    item.fill({ label: 'after-refusals' });
    await item.save();
    expect(await rowIn('tenant-main', 'after-refusals')).toMatchObject({ label: 'after-refusals', qty: null, note_text: null });
  });

  describe('committed and rolledBack events', () => {
    type Seen = { event: 'committed' | 'rolledBack'; operation: string; label: string; changes: Changes; persistedAtEvent: boolean; instance: TenantItem };
    let seen: Seen[] = [];
    const listen = () => {
      for (const event of ['committed', 'rolledBack'] as const) {
        TenantItem.events.on(event, ({ instance, changes, operation }) => {
          const record = instance as TenantItem;
          seen.push({ event, operation, label: record.label, changes, persistedAtEvent: record.isPersisted, instance: record });
        });
      }
    };
    afterEach(() => {
      TenantItem.events.removeAllListeners();
      seen = [];
    });
    const summary = () => seen.map((s) => `${s.event}:${s.operation}:${s.label}`).sort();

    it('rolledBack fires for every write of a transaction that rolls back, with its payload, and committed does not', async () => {
      await TenantItem.bulkInsert([{ label: 'to-update', qty: 1 }, { label: 'to-destroy', qty: 1 }]);
      const toUpdate = (await TenantItem.where({ label: 'to-update' }).first())!;
      const toDestroy = (await TenantItem.where({ label: 'to-destroy' }).first())!;
      listen();

      let created: TenantItem | undefined;
      await expect(
        TenantItem.transaction(async () => {
          created = await TenantItem.create({ label: 'new', qty: 7 });
          toUpdate.qty = 2;
          await toUpdate.save();
          await toDestroy.destroy();
          expect(seen).toEqual([]); // nothing is settled before the outcome
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');

      expect(summary()).toEqual(['rolledBack:created:new', 'rolledBack:destroyed:to-destroy', 'rolledBack:updated:to-update']);
      const byOperation = Object.fromEntries(seen.map((s) => [s.operation, s]));
      expect(byOperation.created!.instance).toBe(created);
      expect(byOperation.created!.changes).toMatchObject({ label: { old: undefined, new: 'new' }, qty: { old: undefined, new: 7 } });
      expect(byOperation.updated!.instance).toBe(toUpdate);
      expect(byOperation.updated!.changes).toEqual({ qty: { old: 1, new: 2 } });
      expect(byOperation.destroyed!.instance).toBe(toDestroy);
      expect(byOperation.destroyed!.changes).toMatchObject({ label: { old: 'to-destroy', new: undefined } });
      // When the event fires the record is already put back: the created one is new again.
      expect(byOperation.created!.persistedAtEvent).toBe(false);
      expect(byOperation.destroyed!.persistedAtEvent).toBe(true);

      // And the database has none of it.
      expect(await labelsIn('tenant-main')).toEqual(['to-destroy', 'to-update']);
      expect((await rowIn('tenant-main', 'to-update'))?.qty).toBe(1);
    });

    it('committed fires, and rolledBack does not, when the transaction commits (and for a write outside any transaction)', async () => {
      const existing = await TenantItem.create({ label: 'existing', qty: 1 });
      listen();
      await TenantItem.transaction(async () => {
        await TenantItem.create({ label: 'new' });
        existing.qty = 2;
        await existing.save();
      });
      await TenantItem.create({ label: 'outside' });
      expect(summary()).toEqual(['committed:created:new', 'committed:created:outside', 'committed:updated:existing']);
      expect(seen.find((s) => s.operation === 'updated')!.changes).toEqual({ qty: { old: 1, new: 2 } });
      expect(await labelsIn('tenant-main')).toEqual(['existing', 'new', 'outside']);
    });

    it('a savepoint that rolls back fires rolledBack for its own writes; the outer commit fires committed for the rest', async () => {
      listen();
      await TenantItem.transaction(async () => {
        await TenantItem.create({ label: 'outer' });
        await expect(
          TenantItem.transaction(async () => {
            await TenantItem.create({ label: 'inner' });
            throw new Error('inner abort');
          }),
        ).rejects.toThrow('inner abort');
        expect(summary()).toEqual(['rolledBack:created:inner']);
      });
      expect(summary()).toEqual(['committed:created:outer', 'rolledBack:created:inner']);
      expect(await labelsIn('tenant-main')).toEqual(['outer']);
    });

    it('a tenant model’s events fire for its own writes only, not for the same-named model on the default manager', async () => {
      listen();
      const defaultSeen: string[] = [];
      DefaultItem.events.on('committed', ({ operation }) => void defaultSeen.push(operation));
      try {
        await DefaultItem.create({ label: 'default' });
        await TenantItem.create({ label: 'tenant' });
      } finally {
        DefaultItem.events.removeAllListeners();
      }
      expect(summary()).toEqual(['committed:created:tenant']);
      expect(defaultSeen).toEqual(['created']);
    });
  });
});
