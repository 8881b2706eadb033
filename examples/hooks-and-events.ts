/**
 * Lifecycle hooks and model events: the order hooks run in (parent class first), a
 * before-hook that aborts, an after-hook that rolls its write back, @AfterCommit and
 * @AfterRollback inside transactions, a failing @AfterCommit reported as 'hookFailed',
 * the old/new values events carry, and bulk writes that run no hooks.
 *
 * SQLite only. Run: npm run build && npx tsc -p tsconfig.run.json && node .build/examples/hooks-and-events.js
 */
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
  type Changes,
  Column,
  ConnectionManager,
  Model,
  PrimaryKey,
  QueryError,
  UpdatedAt,
} from 'polyrecord';
import { freshSqliteFile } from './support.js';

// Every hook and event appends to this trail; trace() prints it as one line.
const trail: string[] = [];
function trace(label: string): void {
  console.log(`  ${label}: ${trail.join(' → ')}`);
  trail.length = 0;
}

/** A pretend search index that an @AfterCommit hook feeds; it can be "down". */
const searchIndex = {
  down: false,
  entries: new Map<number, string>(),
  async add(id: number, title: string): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (this.down) throw new Error('search index unavailable');
    this.entries.set(id, title);
  },
};

@Model({ connection: 'blog', table: 'slugs' })
class Slug extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) slug!: string; // unique in the table
  @Column({ type: 'integer' }) articleId!: number;
}

/** A base class with a column and a hook: its hooks run before the subclass's. */
abstract class Revisioned extends ActiveRecord {
  @Column({ type: 'integer' }) revision!: number;

  @BeforeSave bumpRevision() {
    trail.push('@BeforeSave (parent)');
    if (!this.isPersisted) this.revision = 1;
    else if (this.isDirty()) this.revision += 1;
  }
}

@Model({ connection: 'blog', table: 'articles' })
class Article extends Revisioned {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) title!: string;
  @Column({ type: 'string' }) slug!: string;
  @UpdatedAt() updatedAt!: Date;

  @BeforeValidate() requireTitle() {
    trail.push('@BeforeValidate');
    if (!this.title?.trim()) throw new Error('an article needs a title');
  }

  @BeforeSave() tidyTitle() {
    trail.push('@BeforeSave');
    this.title = this.title.trim();
  }

  @BeforeCreate() makeSlug() {
    trail.push('@BeforeCreate');
    this.slug = this.title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  }

  @BeforeUpdate() beforeUpdate() {
    trail.push('@BeforeUpdate');
  }

  // An async after-hook: awaited, and it runs inside the insert's transaction. If the slug is
  // taken, the unique index fails this insert and the article's insert is rolled back with it.
  @AfterCreate() async reserveSlug() {
    trail.push('@AfterCreate');
    await Slug.create({ slug: this.slug, articleId: this.id });
  }

  @AfterUpdate() afterUpdate() {
    trail.push('@AfterUpdate');
  }

  @AfterSave() afterSave() {
    trail.push('@AfterSave');
  }

  @BeforeDestroy() beforeDestroy() {
    trail.push('@BeforeDestroy');
  }

  @AfterDestroy() async releaseSlug() {
    trail.push('@AfterDestroy');
    await Slug.where({ articleId: this.id }).delete();
  }

  // Runs once the data is committed, with the record's final state. Its failure cannot undo anything.
  @AfterCommit() async indexForSearch() {
    trail.push(`@AfterCommit("${this.title}", rev ${this.revision})`);
    await searchIndex.add(this.id, this.title);
  }

  @AfterRollback() afterRollback() {
    trail.push(`@AfterRollback("${this.title}")`);
  }
}

/** `{ title: { old, new } }` → `title "a" → "b"`; dates as their time of day. */
function describeChanges(changes: Changes): string {
  const show = (value: unknown) => (value instanceof Date ? value.toISOString().slice(11, 23) : JSON.stringify(value) ?? 'undefined');
  return Object.entries(changes)
    .map(([property, change]) => `${property} ${show(change.old)} → ${show(change.new)}`)
    .join(', ');
}

async function main(): Promise<void> {
  ConnectionManager.configure('blog', { driver: 'sqlite', database: freshSqliteFile('hooks-blog') });
  const knex = ConnectionManager.get('blog').knex;
  await knex.schema.createTable('articles', (t) => {
    t.increments('id');
    t.string('title').notNullable();
    t.string('slug').notNullable();
    t.integer('revision').notNullable();
    t.datetime('updated_at');
  });
  await knex.schema.createTable('slugs', (t) => {
    t.increments('id');
    t.string('slug').notNullable().unique();
    t.integer('article_id').notNullable();
  });

  // Events: the per-record ones join the trail; their payloads are printed further down.
  for (const name of ['created', 'updated', 'saved', 'destroyed', 'committed', 'rolledBack'] as const) {
    Article.events.on(name, () => trail.push(`'${name}'`));
  }
  const articles = async () => (await Article.orderBy('id').all()).map((a) => `${a.id}:${a.slug}(rev ${a.revision})`).join(' ') || '(none)';

  console.log('== create: before-hooks (parent class first), the insert, after-hooks and events, then @AfterCommit');
  const hello = await Article.create({ title: '  Hello World ' });
  trace('create');
  console.log(`  stored "${hello.title}" as ${hello.slug}, revision ${hello.revision}; search index has ${searchIndex.entries.size} entry`);

  console.log('\n== update: the event carries old and new values of what changed');
  Article.events.once('updated', ({ changes }) => console.log(`  'updated' changes: ${describeChanges(changes)}`));
  hello.title = 'Hello, World';
  await hello.save();
  trace('update');
  await hello.save();
  trace('save() with nothing changed: before-hooks only (nothing written, so no after-hooks or events)');

  console.log('\n== a throwing before-hook aborts: nothing is written');
  try {
    await Article.create({ title: '   ' });
  } catch (error) {
    trace('create');
    console.log(`  rejected with "${(error as Error).message}"; articles: ${await articles()}`);
  }

  console.log('\n== after-hooks run inside the write\'s transaction: a failing one rolls the write back');
  const copycat = new Article();
  copycat.title = 'hello world'; // same slug as the first article: @AfterCreate's Slug insert fails
  try {
    await copycat.save();
  } catch (error) {
    trace('save');
    const code = error instanceof QueryError ? error.driverCode : String(error);
    console.log(`  rejected (${code}); articles: ${await articles()}`);
    console.log(`  the record is new again: isPersisted=${copycat.isPersisted}, id=${copycat.id}`);
  }
  copycat.title = 'Hello again, world';
  await copycat.save(); // @BeforeCreate computes a fresh slug; the insert goes through
  trail.length = 0;
  console.log(`  after fixing the title, save() inserted it: articles: ${await articles()}`);

  console.log('\n== in a transaction: @AfterCommit waits for the commit, runs once per record, sees the final state');
  await Article.transaction(async () => {
    const draft = await Article.create({ title: 'Draft' });
    draft.title = 'Draft, edited';
    await draft.save();
    draft.title = 'Final title';
    await draft.save();
    const saves = trail.filter((step) => step === "'saved'").length;
    console.log(`  inside: ${saves} saves of one record, @AfterCommit so far: ${trail.some((step) => step.startsWith('@AfterCommit')) ? 'yes' : 'none'}`);
    trail.length = 0;
  });
  trace('after commit');

  console.log('\n== a rollback: @AfterRollback and \'rolledBack\', never @AfterCommit; the record is put back');
  const doomed = new Article();
  doomed.title = 'Doomed';
  await Article.transaction(async () => {
    await doomed.save();
    trail.length = 0; // from here on: what the rollback does
    throw new Error('changed my mind');
  }).catch((error: Error) => trace(`transaction rejected ("${error.message}")`));
  console.log(`  doomed.isPersisted=${doomed.isPersisted}, id=${doomed.id}; articles: ${await articles()}`);

  console.log('\n== a savepoint that rolls back: its records\' @AfterRollback runs at once, the outer commit goes on');
  await Article.transaction(async () => {
    await Article.transaction(async () => {
      await Article.create({ title: 'Inner' });
      trail.length = 0;
      throw new Error('undo the inner part');
    }).catch(() => undefined);
    trace('savepoint rolled back');
    await Article.create({ title: 'Outer' });
    trail.length = 0;
  });
  trace('outer transaction committed');

  console.log('\n== a failing @AfterCommit is reported as \'hookFailed\', not thrown: the data is committed');
  Article.events.on('hookFailed', ({ hook, instance, error }) => console.log(`  'hookFailed': ${hook} of article ${(instance as Article).id} threw "${(error as Error).message}"`));
  searchIndex.down = true;
  const offline = await Article.create({ title: 'Written while the index is down' });
  searchIndex.down = false;
  trail.length = 0;
  console.log(`  create() resolved; article ${offline.id} is stored: ${await Article.where({ id: offline.id }).exists()}`);

  console.log('\n== destroy');
  Article.events.once('destroyed', ({ changes }) => console.log(`  'destroyed' changes (title only): ${describeChanges({ title: changes.title! })}`));
  await hello.destroy();
  trace('destroy');
  console.log(`  slugs left: ${(await Slug.orderBy('id').pluck('slug')).join(', ')}`);

  console.log('\n== bulk writes run no per-record hooks: one \'bulk\' event each');
  Article.events.on('bulk', ({ operation, count }) => trail.push(`'bulk' ${operation} ×${count}`));
  await Article.bulkInsert([
    { title: 'Imported 1', slug: 'imported-1', revision: 1 },
    { title: 'Imported 2', slug: 'imported-2', revision: 1 },
  ]);
  await Article.where('title', 'like', 'Imported%').update({ revision: 2 });
  await Article.where('title', 'like', 'Imported%').delete();
  trace('bulkInsert, update(), delete()');

  console.log(`\nfinal articles: ${await articles()}`);
  await ConnectionManager.closeAll();
}

main().catch(async (error: unknown) => {
  console.error(error);
  await ConnectionManager.closeAll();
  process.exitCode = 1;
});
