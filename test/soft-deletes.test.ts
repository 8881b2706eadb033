/**
 * Soft deletes (issue 7): `@DeletedAt`, `destroy()` / `restore()` / `forceDestroy()`,
 * the default scope on every read and set-based write, hooks and events that say which
 * delete happened, the outbox and `@SyncTo` seeing soft deletes as updates, and
 * rollbacks putting the in-memory record back. On every dialect.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ActiveRecord,
  AfterCommit,
  AfterDestroy,
  AfterRestore,
  AfterRollback,
  BeforeDestroy,
  BeforeRestore,
  Column,
  ConnectionManager,
  CreatedAt,
  DeletedAt,
  ensureOutboxTable,
  ensureSyncStateTable,
  Model,
  ModelDefinitionError,
  Outbox,
  OUTBOX_TABLE,
  PrimaryKey,
  QueryBuilderError,
  RecordNotFoundError,
  SyncJob,
  SyncTo,
  UpdatedAt,
  type BulkEvent,
  type WriteKind,
} from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';

/** A plain soft-deleting model: no hooks, no listeners (its writes take the fast path). */
@Model({ connection: 'soft', table: 'posts' })
class Post extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) n!: number;
  @Column({ type: 'string' }) title!: string;
  @CreatedAt() createdAt!: Date;
  @UpdatedAt() updatedAt!: Date;
  @DeletedAt() deletedAt!: Date | null;
}

const log: string[] = [];
const describeKind = (kind: WriteKind) => `${kind.operation}${kind.soft ? ' soft' : ''}`;

/** A soft-deleting model with every hook that can see a delete or a restore. */
@Model({ connection: 'soft', table: 'notes' })
class Note extends ActiveRecord {
  static failAfterDestroy = false;
  static failBeforeRestore = false;
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) title!: string;
  @DeletedAt({ name: 'removed_at' }) removedAt!: Date | null;

  @BeforeDestroy() beforeDestroy(kind: WriteKind) {
    log.push(`beforeDestroy:${describeKind(kind)}:${this.isTrashed}`);
  }
  @AfterDestroy() afterDestroy(kind: WriteKind) {
    log.push(`afterDestroy:${describeKind(kind)}:${this.isTrashed}`);
    if (Note.failAfterDestroy) throw new Error('afterDestroy failed on purpose');
  }
  @BeforeRestore() beforeRestore(kind: WriteKind) {
    log.push(`beforeRestore:${describeKind(kind)}:${this.isTrashed}`);
    if (Note.failBeforeRestore) throw new Error('beforeRestore failed on purpose');
  }
  @AfterRestore() afterRestore(kind: WriteKind) {
    log.push(`afterRestore:${describeKind(kind)}:${this.isTrashed}`);
  }
  @AfterCommit() afterCommit(kind: WriteKind) {
    log.push(`afterCommit:${describeKind(kind)}`);
  }
  @AfterRollback() afterRollback(kind: WriteKind) {
    log.push(`afterRollback:${describeKind(kind)}`);
  }
}

/** The copy of a doc, where `@SyncTo` writes; soft-deleting itself, to show a sync delete is a real one. */
@Model({ connection: 'soft', table: 'doc_copies' })
class DocCopy extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) docId!: number;
  @Column({ type: 'string' }) title!: string;
  @DeletedAt() deletedAt!: Date | null;
}

/** A soft-deleting model with an outbox and a real-time copy. */
@Outbox()
@SyncTo({ connection: 'soft', model: DocCopy, map: (d: Doc) => ({ docId: d.id, title: d.title, deletedAt: d.deletedAt }), conflictKeys: ['docId'], delete: true })
@Model({ connection: 'soft', table: 'docs' })
class Doc extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) title!: string;
  @UpdatedAt() updatedAt!: Date;
  @DeletedAt() deletedAt!: Date | null;
}

/** No `@DeletedAt`: destroy() deletes, and the soft-delete-only methods are refused. */
@Model({ connection: 'soft', table: 'plain_rows' })
class PlainRow extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) title!: string;
}

/** A SyncJob target that soft-deletes, to show the job deletes its rows for real. */
@Model({ connection: 'soft', table: 'post_digests' })
class PostDigest extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) postId!: number;
  @Column({ type: 'string' }) title!: string;
  @DeletedAt() deletedAt!: Date | null;
}

describe('@DeletedAt definitions', () => {
  it('is a datetime column by default, one per model; a second one or another type is a ModelDefinitionError', () => {
    @Model({ connection: 'soft', table: 'x' })
    class Untyped extends ActiveRecord {
      @PrimaryKey({ type: 'integer' }) id!: number;
      @DeletedAt() gone: unknown;
    }
    expect(Untyped.query()).toBeDefined();
    expect(() => {
      class Twice extends ActiveRecord {
        @DeletedAt() deletedAt!: Date | null;
        @DeletedAt() removedAt!: Date | null;
      }
      return Twice;
    }).toThrow(ModelDefinitionError);
    expect(() => {
      class DateOnly extends ActiveRecord {
        @DeletedAt({ type: 'date' }) deletedAt!: Date | null;
      }
      return DateOnly;
    }).toThrow(/must be a datetime column/);
    expect(() => {
      class Stringly extends ActiveRecord {
        @DeletedAt() deletedAt!: string;
      }
      return Stringly;
    }).toThrow(ModelDefinitionError);
    // A subclass may redeclare the same property; that is not a second column.
    class Sub extends Post {
      @DeletedAt() override deletedAt: Date | null = null;
    }
    expect(Sub).toBeDefined();
  });

  it('onlyTrashed() and restore() on a model without @DeletedAt are refused; withTrashed() changes nothing there', async () => {
    expect(() => PlainRow.onlyTrashed()).toThrow(ModelDefinitionError);
    await expect(PlainRow.query().restore()).rejects.toBeInstanceOf(ModelDefinitionError);
    await expect(new PlainRow().restore()).rejects.toBeInstanceOf(ModelDefinitionError);
    expect(new PlainRow().isTrashed).toBe(false);
    expect(PlainRow.withTrashed()).toBeDefined();
  });
});

describeEachDialect('soft deletes', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('soft', provisioned.configs[0]!);
    const knex = ConnectionManager.get('soft').knex;
    await knex.schema.createTable('posts', (t) => {
      t.increments('id');
      t.integer('n').notNullable();
      t.string('title', 64).notNullable();
      t.datetime('created_at', { precision: 3 });
      t.datetime('updated_at', { precision: 3 });
      t.datetime('deleted_at', { precision: 3 }).nullable();
    });
    await knex.schema.createTable('notes', (t) => {
      t.increments('id');
      t.string('title', 64).notNullable();
      t.datetime('removed_at', { precision: 3 }).nullable();
    });
    await knex.schema.createTable('docs', (t) => {
      t.increments('id');
      t.string('title', 64).notNullable();
      t.datetime('updated_at', { precision: 3 });
      t.datetime('deleted_at', { precision: 3 }).nullable();
    });
    await knex.schema.createTable('doc_copies', (t) => {
      t.increments('id');
      t.integer('doc_id').unique();
      t.string('title', 64);
      t.datetime('deleted_at', { precision: 3 }).nullable();
    });
    await knex.schema.createTable('plain_rows', (t) => {
      t.increments('id');
      t.string('title', 64);
    });
    await knex.schema.createTable('post_digests', (t) => {
      t.increments('id');
      t.integer('post_id').unique();
      t.string('title', 64);
      t.datetime('deleted_at', { precision: 3 }).nullable();
    });
    await ensureOutboxTable('soft');
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });
  beforeEach(async () => {
    const knex = ConnectionManager.get('soft').knex;
    for (const table of ['posts', 'notes', 'docs', 'doc_copies', 'plain_rows', 'post_digests', OUTBOX_TABLE]) await knex(table).delete();
    log.length = 0;
  });
  afterEach(() => {
    for (const model of [Post, Note, Doc, DocCopy]) model.events.removeAllListeners();
    Note.failAfterDestroy = false;
    Note.failBeforeRestore = false;
    vi.useRealTimers();
  });

  const row = (table: string, id: number) => ConnectionManager.get('soft').knex(table).where({ id }).first();
  const ns = (rows: Post[]) => rows.map((r) => r.n).sort((a, b) => a - b);
  /** Posts n = 1..6; n = 2, 4, 6 soft-deleted. */
  const seed = async () => {
    await Post.bulkInsert([1, 2, 3, 4, 5, 6].map((n) => ({ n, title: n % 2 ? 'odd' : 'even' })));
    for (const post of await Post.whereIn('n', [2, 4, 6]).all()) await post.destroy();
  };

  it('destroy() is one UPDATE of deletedAt (and updatedAt); the row stays, the instance is trashed and still persisted', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-02T03:04:05.006Z'));
    const post = await Post.create({ n: 1, title: 'a' });
    expect(post.deletedAt).toBeNull();
    expect(post.isTrashed).toBe(false);
    expect((await row('posts', post.id)).deleted_at).toBeNull();

    vi.setSystemTime(new Date('2026-01-02T03:04:09.000Z'));
    post.title = 'unsaved edit';
    const run = vi.spyOn(ConnectionManager.get('soft'), 'run');
    try {
      await post.destroy();
      expect(run).toHaveBeenCalledTimes(1);
      expect(String(run.mock.calls[0]![1]).toLowerCase()).toMatch(/^update /);
    } finally {
      run.mockRestore();
    }
    expect(post.isTrashed).toBe(true);
    expect(post.isPersisted).toBe(true);
    expect(post.deletedAt!.toISOString()).toBe('2026-01-02T03:04:09.000Z');
    expect(post.updatedAt.toISOString()).toBe('2026-01-02T03:04:09.000Z');
    // Only deletedAt and updatedAt were written: the unsaved edit is still unsaved.
    expect(post.getDirty()).toEqual({ title: 'unsaved edit' });

    const fresh = await Post.withTrashed().findOrFail(post.id);
    expect(fresh.title).toBe('a');
    expect(fresh.deletedAt!.toISOString()).toBe('2026-01-02T03:04:09.000Z');
    expect(fresh.isTrashed).toBe(true);
    expect(await Post.find(post.id)).toBeNull();
    await expect(Post.findOrFail(post.id)).rejects.toBeInstanceOf(RecordNotFoundError);

    // reload() is of the same record: it works on a trashed one.
    await post.reload();
    expect(post.title).toBe('a');
    expect(post.isTrashed).toBe(true);
  });

  it('restore() brings it back; destroy() of a trashed record and restore() of a live one change nothing', async () => {
    const post = await Post.create({ n: 1, title: 'a' });
    await post.destroy();
    const trashedAt = post.deletedAt!.getTime();
    const run = vi.spyOn(ConnectionManager.get('soft'), 'run');
    try {
      await post.destroy();
      expect(run).not.toHaveBeenCalled();
    } finally {
      run.mockRestore();
    }
    expect(post.deletedAt!.getTime()).toBe(trashedAt);

    expect(await post.restore()).toBe(post);
    expect(post.isTrashed).toBe(false);
    expect(post.deletedAt).toBeNull();
    expect((await row('posts', post.id)).deleted_at).toBeNull();
    expect((await Post.findOrFail(post.id)).id).toBe(post.id);
    const again = vi.spyOn(ConnectionManager.get('soft'), 'run');
    try {
      await post.restore();
      expect(again).not.toHaveBeenCalled();
    } finally {
      again.mockRestore();
    }
    // A restored record is an ordinary one: it saves, and soft-deletes again.
    post.title = 'b';
    await post.save();
    await post.destroy();
    expect(await Post.onlyTrashed().pluck('title')).toEqual(['b']);
  });

  it('a soft delete of a row that is gone raises RecordNotFoundError and leaves the instance live', async () => {
    const post = await Post.create({ n: 1, title: 'a' });
    await ConnectionManager.get('soft').knex('posts').where({ id: post.id }).delete();
    await expect(post.destroy()).rejects.toBeInstanceOf(RecordNotFoundError);
    expect(post.isTrashed).toBe(false);
    expect(post.isDirty()).toBe(false);
  });

  it('a model with nothing but a restored or destroyed listener still emits it (inside the write: a throwing one rolls back)', async () => {
    const seen: string[] = [];
    const post = await Post.create({ n: 1, title: 'a' });
    await post.destroy();
    Post.events.on('restored', () => seen.push('restored'));
    await post.restore();
    Post.events.removeAllListeners();
    Post.events.on('destroyed', ({ soft }) => seen.push(`destroyed:${soft}`));
    await post.destroy();
    await post.forceDestroy();
    expect(seen).toEqual(['restored', 'destroyed:true', 'destroyed:false']);

    Post.events.removeAllListeners();
    const other = await Post.create({ n: 2, title: 'b' });
    await other.destroy();
    Post.events.on('restored', () => {
      throw new Error('listener refuses');
    });
    await expect(other.restore()).rejects.toThrow('listener refuses');
    expect(other.isTrashed).toBe(true);
    expect(await Post.onlyTrashed().where('id', other.id).exists()).toBe(true);
  });

  it('forceDestroy() deletes the row, of a live or an already trashed record; the instance is destroyed', async () => {
    const live = await Post.create({ n: 1, title: 'live' });
    const trashed = await Post.create({ n: 2, title: 'trashed' });
    await trashed.destroy();
    await live.forceDestroy();
    await trashed.forceDestroy();
    expect(await Post.withTrashed().count()).toBe(0);
    expect(await row('posts', live.id)).toBeUndefined();
    expect(trashed.isPersisted).toBe(false);
    await expect(trashed.save()).rejects.toThrow(/destroyed/);
    await expect(trashed.restore()).rejects.toThrow(/destroyed/);
    // On a model without @DeletedAt, destroy() and forceDestroy() both delete.
    const plain = await PlainRow.create({ title: 'p' });
    await plain.destroy();
    expect(await PlainRow.withTrashed().count()).toBe(0);
  });

  it('every read leaves trashed rows out: all, first, find, count, exists, pluck, batch', async () => {
    await seed();
    expect(ns(await Post.all())).toEqual([1, 3, 5]);
    expect(ns(await Post.query())).toEqual([1, 3, 5]);
    expect((await Post.where('n', 2).first())).toBeNull();
    expect((await Post.orderBy('n', 'desc').first())!.n).toBe(5);
    expect(await Post.count()).toBe(3);
    expect(await Post.where('n', 4).exists()).toBe(false);
    expect((await Post.pluck('n')).sort()).toEqual([1, 3, 5]);
    const pages: number[][] = [];
    for await (const page of Post.batch(2)) pages.push(page.map((p) => p.n));
    expect(pages).toEqual([[1, 3], [5]]);
    const trashed = await Post.onlyTrashed().orderBy('n').all();
    expect(trashed.map((p) => p.n)).toEqual([2, 4, 6]);
    expect(trashed.every((p) => p.isTrashed)).toBe(true);
    expect(await Post.find(trashed[0]!.id)).toBeNull();
    expect((await Post.onlyTrashed().find(trashed[0]!.id))!.n).toBe(2);
    expect(await Post.query().find(trashed[0]!.id)).toBeNull();
    expect(await Post.withTrashed().count()).toBe(6);
    expect(await Post.withTrashed().where('n', 4).exists()).toBe(true);
    expect(await Post.onlyTrashed().count()).toBe(3);
    const all: number[][] = [];
    for await (const page of Post.withTrashed().batch(4)) all.push(page.map((p) => p.n));
    expect(all).toEqual([[1, 2, 3, 4], [5, 6]]);
    await expect(Post.withTrashed().find(null)).rejects.toBeInstanceOf(QueryBuilderError);
    await expect(Post.withTrashed().findOrFail(-1)).rejects.toBeInstanceOf(RecordNotFoundError);
  });

  it('OR conditions stay inside the scope: (a OR b) AND deleted_at IS NULL', async () => {
    await seed();
    expect(ns(await Post.where('n', 1).orWhere('n', 2).all())).toEqual([1]);
    expect(await Post.where('n', 1).orWhere('n', 2).count()).toBe(1);
    expect(ns(await Post.where('n', 1).orWhere({ n: 4, title: 'even' }).all())).toEqual([1]);
    expect(ns(await Post.whereRaw('n = ? or n = ?', [2, 3]).all())).toEqual([3]);
    expect(ns(await Post.where('title', 'even').orWhere('title', 'odd').all())).toEqual([1, 3, 5]);
    expect(ns(await Post.whereAfter(['n'], [2]).orWhere('n', 2).all())).toEqual([3, 5]);
    expect(ns(await Post.onlyTrashed().where('n', 1).orWhere('n', 2).all())).toEqual([2]);
    expect(ns(await Post.withTrashed().where('n', 1).orWhere('n', 2).all())).toEqual([1, 2]);
    // A later where() still narrows the caller's own conditions as knex groups them.
    expect(ns(await Post.where('n', 1).orWhere('n', 4).where('title', 'even').all())).toEqual([1]);
  });

  it('query update() skips trashed rows; delete() soft-deletes live matches (trashed ones keep their time); forceDelete() and restore()', async () => {
    await seed();
    const bulk: BulkEvent[] = [];
    Post.events.on('bulk', (event) => bulk.push(event));
    expect(await Post.where('title', 'even').update({ title: 'EVEN' })).toBe(0);
    expect(await Post.withTrashed().where('n', 2).update({ title: 'two' })).toBe(1);

    const trashedBefore = (await Post.onlyTrashed().where('n', 4).first())!.deletedAt!.getTime();
    // n > 2 matches 3, 4, 5, 6: only the live 3 and 5 are soft-deleted now.
    expect(await Post.where('n', '>', 2).delete()).toBe(2);
    expect(ns(await Post.all())).toEqual([1]);
    expect(await Post.withTrashed().count()).toBe(6);
    expect((await Post.onlyTrashed().where('n', 4).first())!.deletedAt!.getTime()).toBe(trashedBefore);
    expect(await Post.onlyTrashed().where('n', 3).exists()).toBe(true);
    // Trashed rows are not soft-deleted again, however the query was scoped.
    expect(await Post.onlyTrashed().delete()).toBe(0);

    expect(await Post.where('n', 5).restore()).toBe(1);
    expect(await Post.onlyTrashed().where('n', '<', 5).restore()).toBe(3);
    expect(ns(await Post.all())).toEqual([1, 2, 3, 4, 5]);

    await Post.where('n', 1).delete();
    // forceDelete() sees what any query sees: live rows by default, then the trash.
    expect(await Post.where('n', '<', 3).forceDelete()).toBe(1);
    expect(await Post.onlyTrashed().forceDelete()).toBe(2);
    expect(ns(await Post.withTrashed().all())).toEqual([3, 4, 5]);
    await expect(Post.orderBy('n').forceDelete()).rejects.toBeInstanceOf(QueryBuilderError);
    expect(bulk).toEqual([
      { operation: 'update', count: 0 },
      { operation: 'update', count: 1 },
      { operation: 'delete', count: 2, soft: true },
      { operation: 'delete', count: 0, soft: true },
      { operation: 'update', count: 1 },
      { operation: 'update', count: 3 },
      { operation: 'delete', count: 1, soft: true },
      { operation: 'delete', count: 1 },
      { operation: 'delete', count: 2 },
    ]);
  });

  it('bulk writes write what they are given: no deletedAt is live, a given one is trashed', async () => {
    const stamp = new Date('2026-03-04T05:06:07.089Z');
    await Post.bulkInsert([
      { n: 1, title: 'live' },
      { n: 2, title: 'gone', deletedAt: stamp },
    ]);
    expect(ns(await Post.all())).toEqual([1]);
    expect((await Post.onlyTrashed().first())!.deletedAt!.toISOString()).toBe(stamp.toISOString());
    const gone = (await Post.onlyTrashed().first())!;
    await Post.bulkInsertOrUpdate([{ id: gone.id, n: 2, title: 'back', deletedAt: null }], { conflictKeys: ['id'] });
    expect(ns(await Post.all())).toEqual([1, 2]);
  });

  it('hooks and events say which delete happened: soft, restore, force', async () => {
    const events: string[] = [];
    Note.events.on('destroyed', ({ instance, soft }) => events.push(`destroyed:${soft}:${(instance as Note).isTrashed}`));
    Note.events.on('restored', ({ instance, changes }) => events.push(`restored:${(instance as Note).isTrashed}:${changes.removedAt!.new}`));
    Note.events.on('updated', () => events.push('updated'));
    Note.events.on('saved', () => events.push('saved'));
    Note.events.on('committed', ({ operation, soft }) => events.push(`committed:${operation}:${soft}`));

    const note = await Note.create({ title: 'n' });
    expect(note.removedAt).toBeNull();
    log.length = 0;
    events.length = 0;
    await note.destroy();
    await note.restore();
    await note.destroy();
    await note.forceDestroy();
    expect(log).toEqual([
      'beforeDestroy:destroyed soft:false',
      'afterDestroy:destroyed soft:true',
      'afterCommit:destroyed soft',
      'beforeRestore:restored:true',
      'afterRestore:restored:false',
      'afterCommit:restored',
      'beforeDestroy:destroyed soft:false',
      'afterDestroy:destroyed soft:true',
      'afterCommit:destroyed soft',
      'beforeDestroy:destroyed:true',
      'afterDestroy:destroyed:true',
      'afterCommit:destroyed',
    ]);
    expect(events).toEqual([
      'destroyed:true:true',
      'committed:destroyed:true',
      'restored:false:null',
      'committed:restored:false',
      'destroyed:true:true',
      'committed:destroyed:true',
      'destroyed:false:true',
      'committed:destroyed:false',
    ]);
  });

  it('a throwing beforeDestroy/beforeRestore writes nothing; a throwing afterDestroy rolls the soft delete back', async () => {
    const note = await Note.create({ title: 'n' });
    Note.failAfterDestroy = true;
    await expect(note.destroy()).rejects.toThrow('afterDestroy failed on purpose');
    expect(note.isTrashed).toBe(false);
    expect(note.removedAt).toBeNull();
    expect(note.isDirty()).toBe(false);
    expect((await row('notes', note.id)).removed_at).toBeNull();
    Note.failAfterDestroy = false;

    await note.destroy();
    Note.failBeforeRestore = true;
    await expect(note.restore()).rejects.toThrow('beforeRestore failed on purpose');
    expect(note.isTrashed).toBe(true);
    expect(await Note.onlyTrashed().count()).toBe(1);
  });

  it('a rollback puts the record back: a soft delete is undone in memory, a restore is trashed again', async () => {
    const note = await Note.create({ title: 'n' });
    const post = await Post.create({ n: 1, title: 'plain' });
    const rolledBack: string[] = [];
    Note.events.on('rolledBack', ({ operation, soft }) => rolledBack.push(`${operation}:${soft}`));
    log.length = 0;

    await expect(
      Note.transaction(async () => {
        await note.destroy();
        await post.destroy();
        expect(note.isTrashed && post.isTrashed).toBe(true);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    for (const record of [note, post]) {
      expect(record.isTrashed).toBe(false);
      expect(record.isDirty()).toBe(false);
    }
    expect(note.removedAt).toBeNull();
    expect(rolledBack).toEqual(['destroyed:true']);
    expect(log).toContain('afterRollback:destroyed soft');
    expect(await Post.count()).toBe(1);
    expect(await Note.count()).toBe(1);

    await post.destroy();
    const trashedAt = post.deletedAt!.getTime();
    const updatedAt = post.updatedAt.getTime();
    await expect(
      Post.transaction(async () => {
        await post.restore();
        expect(post.isTrashed).toBe(false);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(post.isTrashed).toBe(true);
    expect(post.deletedAt!.getTime()).toBe(trashedAt);
    expect(post.updatedAt.getTime()).toBe(updatedAt);
    expect(post.isDirty()).toBe(false);
    expect(await Post.onlyTrashed().count()).toBe(1);
    // And the record is usable afterwards: the restore goes through now.
    await post.restore();
    expect(await Post.count()).toBe(1);
  });

  it('the outbox and @SyncTo see a soft delete and a restore as updates, forceDestroy as a delete', async () => {
    const doc = await Doc.create({ title: 'd' });
    await doc.destroy();
    const copy = () => ConnectionManager.get('soft').knex('doc_copies').where({ doc_id: doc.id }).first();
    expect((await copy())?.title).toBe('d');
    expect((await copy())?.deleted_at).not.toBeNull();
    await doc.restore();
    expect((await copy())?.deleted_at).toBeNull();
    await doc.destroy();
    await doc.forceDestroy();
    expect(await copy()).toBeUndefined();

    const rows = await ConnectionManager.get('soft').knex(OUTBOX_TABLE).orderBy('id');
    expect(rows.map((r) => r.event_type)).toEqual(['created', 'updated', 'updated', 'updated', 'destroyed']);
    const payloads = rows.map((r) => JSON.parse(r.payload));
    expect(payloads[1].deletedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(payloads[2].deletedAt).toBeNull();
    expect(payloads[3].deletedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    // The copy was soft-deleted (mapped deletedAt) when the source was hard-deleted: it is deleted for real all the same.
    expect(await DocCopy.withTrashed().count()).toBe(0);
  });

  it('a SyncJob reads soft-deleted source rows (they are changes) and deletes its target rows for real', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00.000Z'));
    const [keep, gone] = [await Post.create({ n: 1, title: 'keep' }), await Post.create({ n: 2, title: 'gone' })];
    const job = new SyncJob({
      name: `soft-${dialect.driver}`,
      source: Post,
      target: PostDigest,
      map: (p: Post) => ({ postId: p.id, title: p.title }),
      conflictKeys: ['postId'],
      watermark: 'updatedAt',
      deletes: { softDeleteColumn: 'deletedAt' },
    });
    await ensureSyncStateTable('soft');
    await job.run();
    expect((await PostDigest.withTrashed().pluck('title')).sort()).toEqual(['gone', 'keep']);
    // Digests soft-deleted by hand are still the rows the job deletes.
    await PostDigest.query().delete();
    vi.setSystemTime(new Date('2026-01-01T00:01:00.000Z'));
    await gone.destroy();
    const result = await job.run();
    expect(result.deleted).toBe(1);
    expect((await PostDigest.withTrashed().pluck('postId'))).toEqual([keep.id]);
  });
});
