import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import {
  ActiveRecord,
  AfterCommit,
  AfterCreate,
  AfterDestroy,
  AfterRollback,
  AfterSave,
  AfterUpdate,
  BeforeCreate,
  BeforeDestroy,
  BeforeSave,
  BeforeUpdate,
  BeforeValidate,
  Column,
  ConnectionManager,
  Model,
  PrimaryKey,
  type RecordEvent,
} from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

const log: string[] = [];
const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

class Audited extends ActiveRecord {
  @BeforeSave()
  async parentBeforeSave() {
    await tick();
    log.push('parent:beforeSave');
  }
}

@Model({ connection: 'primary', table: 'notes' })
class Note extends Audited {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) title!: string;
  @Column({ type: 'string' }) failAt!: string | null;

  #maybeFail(hook: string) {
    log.push(hook);
    if (this.failAt === hook) throw new Error(`failing in ${hook}`);
  }

  @BeforeValidate beforeValidate() {
    this.#maybeFail('beforeValidate');
  }
  @BeforeSave() async beforeSave() {
    await tick();
    this.#maybeFail('beforeSave');
  }
  @BeforeCreate() beforeCreate() {
    this.#maybeFail('beforeCreate');
  }
  @AfterCreate() afterCreate() {
    this.#maybeFail('afterCreate');
  }
  @BeforeUpdate() beforeUpdate() {
    this.#maybeFail('beforeUpdate');
  }
  @AfterUpdate() afterUpdate() {
    this.#maybeFail('afterUpdate');
  }
  @AfterSave() async afterSave() {
    await tick();
    this.#maybeFail('afterSave');
  }
  @BeforeDestroy() beforeDestroy() {
    this.#maybeFail('beforeDestroy');
  }
  @AfterDestroy() afterDestroy() {
    this.#maybeFail('afterDestroy');
  }
  @AfterCommit() afterCommit() {
    log.push(`afterCommit:${this.title}`);
  }
  @AfterRollback() afterRollback() {
    log.push(`afterRollback:${this.title}`);
  }
}

describeEachDialect('hooks and events', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('primary', provisioned.configs[0]!);
    await ConnectionManager.get('primary').knex.schema.createTable('notes', (t) => {
      t.increments('id');
      t.string('title');
      t.string('fail_at');
    });
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });
  beforeEach(async () => {
    log.length = 0;
    Note.events.removeAllListeners();
    await ConnectionManager.get('primary').knex('notes').delete();
  });

  const rows = () => ConnectionManager.get('primary').knex('notes').count({ n: '*' }).then((r) => Number(r[0]!.n));

  it('runs create, update and destroy hooks in order, parents first, async ones awaited', async () => {
    const note = await Note.create({ title: 'a' });
    expect(log).toEqual(['beforeValidate', 'parent:beforeSave', 'beforeSave', 'beforeCreate', 'afterCreate', 'afterSave', 'afterCommit:a']);
    log.length = 0;
    note.title = 'b';
    await note.save();
    expect(log).toEqual(['beforeValidate', 'parent:beforeSave', 'beforeSave', 'beforeUpdate', 'afterUpdate', 'afterSave', 'afterCommit:b']);
    log.length = 0;
    await note.destroy();
    expect(log).toEqual(['beforeDestroy', 'afterDestroy', 'afterCommit:b']);
  });

  for (const hook of ['beforeValidate', 'beforeSave', 'beforeCreate']) {
    it(`a throwing ${hook} aborts the create and writes nothing`, async () => {
      await expect(Note.create({ title: 'x', failAt: hook })).rejects.toThrow(`failing in ${hook}`);
      expect(await rows()).toBe(0);
      expect(log.some((l) => l.startsWith('afterCommit'))).toBe(false);
    });
  }

  it('a throwing beforeUpdate or beforeDestroy writes nothing', async () => {
    const note = await Note.create({ title: 'keep' });
    note.title = 'changed';
    note.failAt = 'beforeUpdate';
    await expect(note.save()).rejects.toThrow('failing in beforeUpdate');
    const stored = await Note.findOrFail(note.id);
    expect(stored.title).toBe('keep');
    stored.failAt = 'beforeDestroy';
    await ConnectionManager.get('primary').knex('notes').update({ fail_at: 'beforeDestroy' });
    await expect((await Note.findOrFail(note.id)).destroy()).rejects.toThrow('failing in beforeDestroy');
    expect(await rows()).toBe(1);
  });

  it('after hooks run inside the write transaction: a throwing afterSave rolls the write back', async () => {
    const note = new Note();
    note.title = 'rolled';
    note.failAt = 'afterSave';
    await expect(note.save()).rejects.toThrow('failing in afterSave');
    expect(await rows()).toBe(0);
    expect(log).toContain('afterRollback:rolled');
    expect(log.some((l) => l.startsWith('afterCommit'))).toBe(false);
    // The instance is new again, so a corrected save inserts it.
    expect(note.isPersisted).toBe(false);
    note.failAt = null;
    await note.save();
    expect(await rows()).toBe(1);
  });

  it('afterCommit waits for the enclosing transaction, fires once per record, never after rollback', async () => {
    await Note.transaction(async () => {
      const note = await Note.create({ title: 'one' });
      note.title = 'one-final';
      await note.save();
      await Note.transaction(async () => {
        await Note.create({ title: 'in-savepoint' });
      });
      expect(log.filter((l) => l.startsWith('afterCommit'))).toEqual([]);
    });
    expect(log.filter((l) => l.startsWith('afterCommit'))).toEqual(['afterCommit:one-final', 'afterCommit:in-savepoint']);

    log.length = 0;
    await expect(
      Note.transaction(async () => {
        await Note.create({ title: 'doomed' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(log.filter((l) => l.startsWith('afterCommit'))).toEqual([]);
    expect(log).toContain('afterRollback:doomed');

    // A record created and updated in a rolled-back transaction is new again afterwards.
    let twice!: Note;
    await expect(
      Note.transaction(async () => {
        twice = await Note.create({ title: 'twice' });
        twice.title = 'twice-updated';
        await twice.save();
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(twice.isPersisted).toBe(false);
    expect(twice.id).toBeUndefined();

    log.length = 0;
    await Note.transaction(async () => {
      await Note.transaction(async () => {
        await Note.create({ title: 'savepoint-rolled' });
        throw new Error('inner');
      }).catch(() => undefined);
      await Note.create({ title: 'kept' });
    });
    expect(log.filter((l) => l.startsWith('afterCommit:') || l.startsWith('afterRollback:'))).toEqual(['afterRollback:savepoint-rolled', 'afterCommit:kept']);
  });

  it('emits created / updated (old and new values) / saved / destroyed / committed', async () => {
    const events: Array<[string, RecordEvent]> = [];
    for (const name of ['created', 'updated', 'saved', 'destroyed', 'committed'] as const) {
      Note.events.on(name, (event: RecordEvent) => events.push([name, event]));
    }
    const note = await Note.create({ title: 'e1' });
    note.title = 'e2';
    await note.save();
    await note.destroy();
    expect(events.map(([name]) => name)).toEqual(['created', 'saved', 'committed', 'updated', 'saved', 'committed', 'destroyed', 'committed']);
    expect(events[0]![1].instance).toBe(note);
    expect(events[0]![1].changes.title).toEqual({ old: undefined, new: 'e1' });
    expect(events[3]![1].changes).toEqual({ title: { old: 'e1', new: 'e2' } });
    expect(events[6]![1].changes.title).toEqual({ old: 'e2', new: undefined });
  });

  it('bulk operations run no per-record hooks and emit one bulk event', async () => {
    const bulk: unknown[] = [];
    Note.events.on('bulk', (event) => bulk.push(event));
    await Note.bulkInsert([{ title: 'b1' }, { title: 'b2' }]);
    await Note.bulkInsertOrUpdate([{ id: 1_000, title: 'b3' }], { conflictKeys: ['id'] });
    expect(await Note.where({ title: 'b1' }).update({ title: 'b1x' })).toBe(1);
    expect(await Note.query().delete()).toBe(3);
    expect(log).toEqual([]);
    expect(bulk).toEqual([
      { operation: 'insert', count: 2 },
      { operation: 'upsert', count: 1 },
      { operation: 'update', count: 1 },
      { operation: 'delete', count: 3 },
    ]);
  });

  it('a failing afterCommit hook is reported, not thrown', async () => {
    const failures: unknown[] = [];
    Note.events.on('hookFailed', (event) => failures.push(event.hook));
    const original = Note.prototype.afterCommit;
    Note.prototype.afterCommit = () => {
      throw new Error('after commit broke');
    };
    try {
      const note = await Note.create({ title: 'survives' });
      expect(note.isPersisted).toBe(true);
    } finally {
      Note.prototype.afterCommit = original;
    }
    expect(failures).toEqual(['afterCommit']);
    expect(await rows()).toBe(1);
  });
});
