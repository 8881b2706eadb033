import type { EventEmitter } from 'eventemitter3';
import { ConnectionManager } from '../connection/manager.js';
import type { ModelEvents } from './events.js';
import { runInFrame } from '../context/scope.js';
import { ConfigError, QueryBuilderError, RecordNotFoundError } from '../errors.js';
import { runTransaction, type Transaction } from '../connection/session/local-transaction.js';
import type { TransactionOptions } from '../connection/session/transaction-retry.js';
import { andThen, promised } from '../util/maybe-promise.js';
import { bulkWrite, type UpsertOptions } from './bulk.js';
import { CONNECTION, ORIGINAL, changedColumns, hydrateLoose, type RecordSlots } from './hydration.js';
import { metaOf, type ModelMeta } from './metadata.js';
import { encodeRawBinding } from '../connection/column-codecs.js';
import { columnValue } from './column-values.js';
import { findMany, firstOrCreate, updateOrCreate, type FinderModel } from './finders.js';
import { findByKey, instanceTarget, isTrashed, reloadRecord } from './persistence.js';
import { destroyRecord, incrementRecord, restoreRecord, saveRecord } from './lifecycle.js';
import type { Aggregate, AggregateValue } from './aggregates.js';
import type { GroupedQuery } from './grouped-query.js';
import { ModelQuery, checkRawPlaceholders, type ConditionGroup, type Operator, type Page, type RawSqlOptions } from './query-builder.js';
import { unescapeQuestionMarks } from './statement-compiler.js';
import { VIEW_CONNECTION, VIEW_PRIMARY, execOptions, modelOf, resolveTarget } from './target.js';
import type { Attributes, Prop, Selected } from './types.js';
import { COUNTS, PIVOT, serializeRelations, type RelationSlots } from './relations/record-relations.js';
import { loadPreloads } from './relations/preload-engine.js';
import { addPreload, type RelationConstraint } from './relations/relation-specs.js';
import { RelatedQuery } from './relations/related-query.js';
import { emptyState } from './query-state.js';
import type { PreloadPath, RelatedQueryOf, RelatedRecord, RelationName } from './relations/relation-typing.js';

/** A model class (or a `using()` view of one) producing instances of `M`. */
export type ModelClass<M extends ActiveRecord> = (new () => M) & Omit<typeof ActiveRecord, 'prototype'>;

type Instance = RecordSlots & RelationSlots & Record<string, unknown>;

function meta(instance: ActiveRecord): ModelMeta {
  return modelOf(instance.constructor).meta;
}

/** Options of `Model.using(name, options)`. */
export interface UsingOptions {
  /** `'primary'`: reads never go to a read replica. Default `'any'`: reads outside transactions may. */
  readonly role?: 'primary' | 'any';
}

/**
 * Base class of every model. Decorate a subclass with `@Model` and its columns, then
 * query through the static methods and persist through the instance methods.
 *
 * Internal state lives under symbols, so any property name is free for your columns.
 *
 * @example
 * ```ts
 * @Model({ connection: 'primary', table: 'users' })
 * class User extends ActiveRecord {
 *   @PrimaryKey({ type: 'integer' }) id!: number
 *   @Column({ type: 'string' }) email!: string
 *   @Column({ type: 'boolean' }) active = true
 *   @CreatedAt() createdAt!: Date
 * }
 *
 * const user = await User.create({ email: 'ada@example.com' })
 * const again = await User.using('replica').find(user.id)
 * ```
 */
export class ActiveRecord {
  /**
   * This model class's event emitter: `'created' | 'updated' | 'saved' | 'destroyed' | 'restored'`
   * (inside the write's transaction; `'destroyed'` says `soft: true` for a soft delete), `'committed'` / `'rolledBack'` (after the outcome),
   * `'bulk'`, `'syncFailed'`, `'hookFailed'`.
   */
  static get events(): EventEmitter<ModelEvents> {
    return modelOf(this).meta.events;
  }

  // ---- switching -------------------------------------------------------------

  /**
   * A view of this model bound to connection `name`: every static method on it runs
   * there, and instances it loads or creates remember it for `save()`/`destroy()`.
   * `{ role: 'primary' }`: its reads go to the primary even where `name` has read replicas
   * (for everything in a scope, use `ConnectionManager.usingPrimary(fn)`).
   *
   * @example
   * ```ts
   * const fresh = await User.using('main', { role: 'primary' }).find(id)
   * ```
   */
  static using<T extends object>(this: T, name: string, options?: UsingOptions): T {
    const { meta } = modelOf(this);
    (meta.manager ?? ConnectionManager.default).get(name);
    const role = options?.role ?? 'any';
    if (role !== 'any' && role !== 'primary') throw new ConfigError('role', `using() takes role 'primary' or 'any' (got ${JSON.stringify(role)})`);
    const view = Object.create(meta.ctor) as T;
    Object.defineProperty(view, VIEW_CONNECTION, { value: name, enumerable: false });
    if (role === 'primary') Object.defineProperty(view, VIEW_PRIMARY, { value: true, enumerable: false });
    return view;
  }

  /**
   * Runs `fn` with this model switched to connection `name` for the async scope only:
   * awaited calls and callbacks inside see the switch, concurrent scopes do not.
   */
  static usingConnection<R>(this: object, name: string, fn: () => R): R {
    const { meta } = modelOf(this);
    (meta.manager ?? ConnectionManager.default).get(name);
    return runInFrame({ model: meta.ctor, connection: name }, fn);
  }

  /** Runs `fn` in a transaction on this model's (resolved) connection; see `ConnectionManager.transaction`. */
  static transaction<R>(this: object, fn: (trx: Transaction) => Promise<R> | R, options?: TransactionOptions): Promise<R> {
    const { meta, explicit } = modelOf(this);
    return runTransaction(resolveTarget(meta, explicit).connection, fn, options);
  }

  // ---- queries ---------------------------------------------------------------

  /** A new query over every row. */
  static query<M extends ActiveRecord>(this: ModelClass<M>): ModelQuery<M> {
    const { meta, explicit, primary } = modelOf(this);
    return new ModelQuery<M>(meta, explicit, undefined, primary);
  }

  static where<M extends ActiveRecord>(this: ModelClass<M>, group: ConditionGroup<ModelQuery<M>>): ModelQuery<M>;
  static where<M extends ActiveRecord>(this: ModelClass<M>, conditions: Partial<Attributes<M>>): ModelQuery<M>;
  static where<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K, value: M[K] | null): ModelQuery<M>;
  static where<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K, operator: Operator, value: M[K] | null): ModelQuery<M>;
  static where<M extends ActiveRecord>(this: ModelClass<M>, ...args: unknown[]): ModelQuery<M> {
    return (this.query() as unknown as { where(...a: unknown[]): ModelQuery<M> }).where(...args);
  }

  static whereIn<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K, values: readonly M[K][]): ModelQuery<M> {
    return this.query().whereIn(property, values);
  }

  static whereNotIn<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K, values: readonly M[K][]): ModelQuery<M> {
    return this.query().whereNotIn(property, values);
  }

  static whereNull<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K): ModelQuery<M> {
    return this.query().whereNull(property);
  }

  static whereNot<M extends ActiveRecord>(this: ModelClass<M>, group: ConditionGroup<ModelQuery<M>>): ModelQuery<M>;
  static whereNot<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K, value: M[K] | null): ModelQuery<M>;
  static whereNot<M extends ActiveRecord>(this: ModelClass<M>, ...args: unknown[]): ModelQuery<M> {
    return (this.query() as unknown as { whereNot(...a: unknown[]): ModelQuery<M> }).whereNot(...args);
  }

  static whereNotNull<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K): ModelQuery<M> {
    return this.query().whereNotNull(property);
  }

  static whereRaw<M extends ActiveRecord>(this: ModelClass<M>, sql: string, bindings: readonly unknown[] = [], options: RawSqlOptions = {}): ModelQuery<M> {
    return this.query().whereRaw(sql, bindings, options);
  }

  static whereAfter<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, properties: readonly K[], values: readonly unknown[]): ModelQuery<M> {
    return this.query().whereAfter(properties, values);
  }

  static offset<M extends ActiveRecord>(this: ModelClass<M>, count: number): ModelQuery<M> {
    return this.query().offset(count);
  }

  static orderBy<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K, direction: 'asc' | 'desc' = 'asc'): ModelQuery<M> {
    return this.query().orderBy(property, direction);
  }

  static limit<M extends ActiveRecord>(this: ModelClass<M>, count: number): ModelQuery<M> {
    return this.query().limit(count);
  }

  static select<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, ...properties: K[]): ModelQuery<M, Selected<M, K>> {
    return this.query().select(...properties);
  }

  static all<M extends ActiveRecord>(this: ModelClass<M>): Promise<M[]> {
    return this.query().all();
  }

  static first<M extends ActiveRecord>(this: ModelClass<M>): Promise<M | null> {
    return this.query().first();
  }

  static count<M extends ActiveRecord>(this: ModelClass<M>, property?: Prop<M>): Promise<number> {
    return this.query().count(property);
  }

  /** One page of all records and the paging figures; see {@link ModelQuery.paginate}. */
  static paginate<M extends ActiveRecord>(this: ModelClass<M>, page: number, perPage: number): Promise<Page<M>> {
    return this.query().paginate(page, perPage);
  }

  static exists<M extends ActiveRecord>(this: ModelClass<M>): Promise<boolean> {
    return this.query().exists();
  }

  static pluck<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K): Promise<M[K][]> {
    return this.query().pluck(property);
  }

  // Shortcuts of issue 7's query features (conditions, aggregates, grouping): `Model.x(...)` is `Model.query().x(...)`.

  static whereBetween<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K, range: readonly [M[K], M[K]]): ModelQuery<M> {
    return this.query().whereBetween(property, range);
  }

  static whereNotBetween<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K, range: readonly [M[K], M[K]]): ModelQuery<M> {
    return this.query().whereNotBetween(property, range);
  }

  static whereLike<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K, pattern: string): ModelQuery<M> {
    return this.query().whereLike(property, pattern);
  }

  static whereILike<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K, pattern: string): ModelQuery<M> {
    return this.query().whereILike(property, pattern);
  }

  static distinct<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, ...properties: [K, ...K[]]): ModelQuery<M, Selected<M, K>> {
    return this.query().distinct(...properties);
  }

  static groupBy<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, ...properties: K[]): GroupedQuery<M, K, {}> {
    return this.query().groupBy(...properties);
  }

  static sum<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K): Promise<AggregateValue<M, Aggregate<'sum', K>>> {
    return this.query().sum(property);
  }

  static avg<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K): Promise<number | null> {
    return this.query().avg(property);
  }

  static min<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K): Promise<NonNullable<M[K]> | null> {
    return this.query().min(property);
  }

  static max<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K): Promise<NonNullable<M[K]> | null> {
    return this.query().max(property);
  }

  static countDistinct<M extends ActiveRecord, K extends Prop<M>>(this: ModelClass<M>, property: K): Promise<number> {
    return this.query().countDistinct(property);
  }

  /** Iterates every row in primary-key pages; see {@link ModelQuery.batch}. */
  static batch<M extends ActiveRecord>(this: ModelClass<M>, size: number): AsyncGenerator<M[], void, undefined> {
    return this.query().batch(size);
  }

  /** The record with this primary key, or `null` (also when it is soft-deleted: use `withTrashed().find(key)`). */
  static find<M extends ActiveRecord>(this: ModelClass<M>, key: unknown): Promise<M | null> {
    try {
      const { meta, explicit, primary } = modelOf(this);
      if (key === undefined || key === null) throw new QueryBuilderError(`${meta.name}.find() needs a primary key value`);
      return findByKey(meta, resolveTarget(meta, explicit, primary), columnValue(meta.name, meta.primaryKey, key), 'without') as Promise<M | null>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The record with this primary key, or a {@link RecordNotFoundError}. */
  static async findOrFail<M extends ActiveRecord>(this: ModelClass<M>, key: unknown): Promise<M> {
    const found = await this.find(key);
    if (!found) throw new RecordNotFoundError(modelOf(this).meta.name, key);
    return found;
  }

  /**
   * The first record matching `conditions`, or `null`.
   *
   * @example
   * ```ts
   * const user = await User.findBy({ email: 'ada@example.com' })
   * ```
   */
  static findBy<M extends ActiveRecord>(this: ModelClass<M>, conditions: Partial<Attributes<M>>): Promise<M | null> {
    return this.query().where(conditions).first();
  }

  /** The first record matching `conditions`, or a {@link RecordNotFoundError} naming them. */
  static async findByOrFail<M extends ActiveRecord>(this: ModelClass<M>, conditions: Partial<Attributes<M>>): Promise<M> {
    const found = await this.findBy(conditions);
    if (!found) throw new RecordNotFoundError(modelOf(this).meta.name, conditions);
    return found;
  }

  /**
   * The records with these primary keys, in the order of `keys`; keys with no record are
   * left out, a repeated key gives its record once. One query (`whereIn`), any length.
   *
   * @example
   * ```ts
   * const [b, a] = await User.findMany([2, 1])
   * ```
   */
  static findMany<M extends ActiveRecord>(this: ModelClass<M>, keys: readonly unknown[]): Promise<M[]> {
    return findMany<M>(modelOf(this).meta, this as FinderModel<M>, keys);
  }

  /**
   * The record matching `search`, else a new one created from `search` and `extra`.
   * With a unique index on the `search` properties it is safe under concurrency: two
   * clients racing on the same key both end with the one row (the loser's insert fails on
   * the index and it returns the winner's record).
   *
   * @example
   * ```ts
   * const tag = await Tag.firstOrCreate({ slug: 'orm' }, { label: 'ORM' })
   * ```
   */
  static firstOrCreate<M extends ActiveRecord>(this: ModelClass<M>, search: Partial<Attributes<M>>, extra: Partial<Attributes<M>> = {}): Promise<M> {
    const { meta, explicit } = modelOf(this);
    return firstOrCreate<M>(meta, explicit, this as FinderModel<M>, search, extra);
  }

  /**
   * Updates the record matching `search` with `attributes` (hooks and events as `save()`),
   * or creates one from both. Concurrency-safe like {@link firstOrCreate}.
   *
   * @example
   * ```ts
   * await Setting.updateOrCreate({ key: 'theme' }, { value: 'dark' })
   * ```
   */
  static updateOrCreate<M extends ActiveRecord>(this: ModelClass<M>, search: Partial<Attributes<M>>, attributes: Partial<Attributes<M>>): Promise<M> {
    const { meta, explicit } = modelOf(this);
    return updateOrCreate<M>(meta, explicit, this as FinderModel<M>, search, attributes);
  }

  /** Builds an instance from `attributes` and inserts it. Unknown properties are refused. */
  static create<M extends ActiveRecord>(this: ModelClass<M>, attributes: Partial<Attributes<M>> = {}): Promise<M> {
    return promised(() => {
      const { meta, explicit } = modelOf(this);
      const instance = new (meta.ctor as new () => M)();
      instance.fill(attributes);
      return andThen(saveRecord(meta, instance as unknown as Instance, explicit), () => instance);
    });
  }

  /** Inserts many rows in chunks, in one transaction. No per-record hooks run. Resolves with the row count. */
  static bulkInsert<M extends ActiveRecord>(this: ModelClass<M>, rows: readonly Partial<Attributes<M>>[]): Promise<number> {
    const { meta, explicit } = modelOf(this);
    return bulkWrite(meta, resolveTarget(meta, explicit), rows, undefined).then((outcome) => outcome.sent);
  }

  /**
   * Inserts many rows, updating those whose `conflictKeys` already exist (PostgreSQL and
   * SQLite `ON CONFLICT … DO UPDATE`, MySQL `ON DUPLICATE KEY UPDATE`). One transaction,
   * no per-record hooks. Resolves with the row count.
   */
  static bulkInsertOrUpdate<M extends ActiveRecord>(this: ModelClass<M>, rows: readonly Partial<Attributes<M>>[], options: UpsertOptions<Prop<M>>): Promise<number> {
    const { meta, explicit } = modelOf(this);
    return bulkWrite(meta, resolveTarget(meta, explicit), rows, options).then((outcome) => outcome.sent);
  }

  /**
   * Runs hand-written SQL (`?` placeholders, values bound) on the model's connection and
   * hydrates the rows: known columns are typed, extra fields are copied as they are.
   * The text is sent unprepared unless `{ prepare: true }` says it repeats (then it is
   * prepared on the server once it has run `prepareThreshold` times, like model queries).
   *
   * @example
   * ```ts
   * const top = await User.rawQuery('select * from users order by score desc limit ?', [10], { prepare: true })
   * ```
   */
  static async rawQuery<M extends ActiveRecord>(this: ModelClass<M>, sql: string, bindings: readonly unknown[] = [], options: RawSqlOptions = {}): Promise<M[]> {
    const { meta, explicit } = modelOf(this);
    if (typeof sql !== 'string' || sql.trim() === '') throw new QueryBuilderError('rawQuery() needs SQL text');
    checkRawPlaceholders('rawQuery', sql, bindings);
    const target = resolveTarget(meta, explicit);
    const codec = target.connection.dialect.codec;
    const encoded = bindings.map((value) => encodeRawBinding(value, codec));
    const native = target.connection.knex.raw(sql, encoded as never[]).toSQL().toNative();
    const raw = execOptions(meta, options?.prepare === true ? 'auto' : 'never');
    const sqlText = unescapeQuestionMarks(native.sql);
    const { rows } = target.transaction ? await target.transaction.execute(sqlText, native.bindings, raw) : await target.connection.execute(sqlText, native.bindings, raw);
    return rows.map((row) => hydrateLoose(meta, row, target.connection.name) as M);
  }

  // ---- relations (docs/relations.md) -------------------------------------------

  /** A query that preloads `path` onto every record it returns; see {@link ModelQuery.preload}. */
  static preload<M extends ActiveRecord, P extends PreloadPath<M>>(this: ModelClass<M>, path: P, constrain?: (query: RelatedQueryOf<M, P>) => unknown): ModelQuery<M> {
    return this.query().preload(path, constrain);
  }

  /** A query counting related records into `$counts`; see {@link ModelQuery.withCount}. */
  static withCount<M extends ActiveRecord, N extends RelationName<M>>(this: ModelClass<M>, name: N, constrain?: (query: RelatedQueryOf<M, N>) => unknown): ModelQuery<M> {
    return this.query().withCount(name, constrain);
  }

  /** Records with related records; see {@link ModelQuery.whereHas}. */
  static whereHas<M extends ActiveRecord, N extends RelationName<M>>(this: ModelClass<M>, name: N, constrain?: (query: RelatedQueryOf<M, N>) => unknown): ModelQuery<M> {
    return this.query().whereHas(name, constrain);
  }

  /** Records without related records; see {@link ModelQuery.whereDoesntHave}. */
  static whereDoesntHave<M extends ActiveRecord, N extends RelationName<M>>(this: ModelClass<M>, name: N, constrain?: (query: RelatedQueryOf<M, N>) => unknown): ModelQuery<M> {
    return this.query().whereDoesntHave(name, constrain);
  }

  /**
   * Loads a relation (or dotted path) onto records you already have, with the same
   * queries a preload runs: one per relation level, whatever the number of records.
   * Works on any records of the model: from `find`, `rawQuery`, several queries.
   *
   * @example
   * ```ts
   * const artists = await Artist.rawQuery('select * from artists where name like ?', ['A%'])
   * await Artist.loadRelations(artists, 'albums.tracks')
   * ```
   */
  static async loadRelations<M extends ActiveRecord, P extends PreloadPath<M>>(this: ModelClass<M>, records: readonly M[], path: P, constrain?: (query: RelatedQueryOf<M, P>) => unknown): Promise<M[]> {
    const { meta } = modelOf(this);
    if (!Array.isArray(records)) throw new QueryBuilderError(`${meta.name}.loadRelations() takes an array of ${meta.name} records`);
    const state = addPreload(meta, emptyState(undefined), path, constrain as RelationConstraint | undefined);
    await loadPreloads(meta, records, state.relations!.preloads);
    return records as M[];
  }

  /**
   * Loads a relation (or dotted path) onto this record; the property holds it afterwards.
   *
   * @example
   * ```ts
   * await artist.load('albums', (q) => q.orderBy('year'))
   * artist.albums.length
   * ```
   */
  async load<P extends PreloadPath<this>>(path: P, constrain?: (query: RelatedQueryOf<this, P>) => unknown): Promise<this> {
    const m = meta(this);
    const state = addPreload(m, emptyState(undefined), path, constrain as RelationConstraint | undefined);
    await loadPreloads(m, [this], state.relations!.preloads);
    return this;
  }

  /**
   * The related records of this record as a query to refine, and the writes through the
   * relation (`create`, `associate`/`dissociate`, `attach`/`detach`/`sync`).
   *
   * @example
   * ```ts
   * const recent = await artist.related('albums').where('year', '>', 2020)
   * await album.related('artist').associate(artist)
   * ```
   */
  related<N extends RelationName<this>>(name: N): RelatedQuery<RelatedRecord<this[N]> & object> {
    return RelatedQuery.of(meta(this), this, name);
  }

  /** Related-record counts loaded by `withCount` (an empty object when none were). */
  get $counts(): Readonly<Record<string, number>> {
    return (this as unknown as Instance)[COUNTS] ?? {};
  }

  /** The pivot row's columns, on a record loaded through a many-to-many relation; undefined otherwise. */
  get $pivot(): Readonly<Record<string, unknown>> | undefined {
    return (this as unknown as Instance)[PIVOT];
  }

  // ---- instances -------------------------------------------------------------

  /** Assigns properties; unknown ones are refused. Returns `this`. */
  fill(attributes: Partial<Attributes<this>>): this {
    const m = meta(this);
    if (attributes === null || typeof attributes !== 'object') throw new QueryBuilderError(`${m.name}.fill() takes an object`);
    for (const [property, value] of Object.entries(attributes)) {
      m.column(property);
      (this as unknown as Instance)[property] = value;
    }
    return this;
  }

  /** Inserts the record when new, else updates the columns that changed. */
  save(): Promise<this> {
    return promised(() => andThen(saveRecord(meta(this), this as unknown as Instance), () => this));
  }

  /**
   * Deletes the record. It cannot be saved again afterwards (unless the transaction that
   * deleted it rolls back). On a model with `@DeletedAt` it soft-deletes instead: one
   * UPDATE sets `@DeletedAt` (and `@UpdatedAt`) to now, and the record stays usable
   * (`isTrashed`, `restore()`); a record already soft-deleted is left as it is.
   */
  async destroy(): Promise<void> {
    await destroyRecord(meta(this), this as unknown as Instance, false);
  }

  /**
   * Adds `by` (default 1) to a numeric column in one statement (`SET credits = credits + ?`),
   * so concurrent increments never overwrite each other; the instance then holds the new
   * value. Other unsaved changes are left as they are. Listeners and participants (outbox,
   * `@SyncTo`) see an update; no hooks run.
   *
   * @example
   * ```ts
   * await user.increment('credits', 5)
   * user.credits // the stored value, including other clients' increments
   * ```
   */
  async increment(property: Prop<this>, by: number | bigint = 1): Promise<this> {
    await incrementRecord(meta(this), this as unknown as Instance, property, by, false);
    return this;
  }

  /** Subtracts `by` (default 1) from a numeric column in one statement; see {@link increment}. */
  async decrement(property: Prop<this>, by: number | bigint = 1): Promise<this> {
    await incrementRecord(meta(this), this as unknown as Instance, property, by, true);
    return this;
  }

  /** Re-reads every column from the database, dropping unsaved changes. */
  async reload(): Promise<this> {
    const m = meta(this);
    const instance = this as unknown as Instance;
    await reloadRecord(m, instance, instanceTarget(m, instance));
    return this;
  }

  /** Whether the record (or one property) has unsaved changes. A new record is dirty once any column is set. */
  isDirty(property?: Prop<this>): boolean {
    const changed = changedColumns(meta(this), this as unknown as Instance);
    return property === undefined ? changed.length > 0 : changed.some((c) => c.property === property);
  }

  /** The properties with unsaved changes and their current values. */
  getDirty(): Partial<Attributes<this>> {
    const instance = this as unknown as Instance;
    return Object.fromEntries(changedColumns(meta(this), instance).map((c) => [c.property, instance[c.property]])) as Partial<Attributes<this>>;
  }

  /** Whether the record exists in the database (was loaded or saved, and not destroyed). */
  get isPersisted(): boolean {
    return (this as unknown as Instance)[ORIGINAL] !== undefined;
  }

  /** The canonical name of the connection the record was read from or written to. */
  get connectionName(): string | undefined {
    return (this as unknown as Instance)[CONNECTION];
  }

  /**
   * The column properties, ready for `JSON.stringify` (bigints become strings; Dates stay
   * Dates and stringify as ISO text), with the relations that were loaded (recursively),
   * `$counts` and `$pivot` when there are any. Unloaded relations are left out.
   */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const instance = this as unknown as Instance;
    const m = meta(this);
    for (const column of m.columns) {
      const value = instance[column.property];
      if (value === undefined) continue;
      out[column.property] = typeof value === 'bigint' ? value.toString() : value;
    }
    serializeRelations(m, this, out);
    return out;
  }

  // ---- soft deletes ----------------------------------------------------------

  /** All rows, soft-deleted ones included. See {@link ModelQuery.withTrashed}. */
  static withTrashed<M extends ActiveRecord>(this: ModelClass<M>): ModelQuery<M> {
    return this.query().withTrashed();
  }

  /** Soft-deleted rows only. See {@link ModelQuery.onlyTrashed}. */
  static onlyTrashed<M extends ActiveRecord>(this: ModelClass<M>): ModelQuery<M> {
    return this.query().onlyTrashed();
  }

  /**
   * Deletes the record's row for real, even on a soft-deleting model and even when it is
   * already soft-deleted. Destroy hooks run and `'destroyed'` is emitted with `soft: false`.
   *
   * @example
   * ```ts
   * const post = await Post.withTrashed().findOrFail(id)
   * await post.forceDestroy()
   * ```
   */
  async forceDestroy(): Promise<void> {
    await destroyRecord(meta(this), this as unknown as Instance, true);
  }

  /**
   * Brings a soft-deleted record back: one UPDATE sets `@DeletedAt` to null (and
   * `@UpdatedAt` to now). Runs `@BeforeRestore`/`@AfterRestore` and emits `'restored'`;
   * does nothing to a record that is not soft-deleted. A model without `@DeletedAt`
   * raises a ModelDefinitionError.
   *
   * @example
   * ```ts
   * const post = await Post.onlyTrashed().findOrFail(id)
   * await post.restore()
   * ```
   */
  async restore(): Promise<this> {
    await restoreRecord(meta(this), this as unknown as Instance);
    return this;
  }

  /** Whether the record is soft-deleted (its `@DeletedAt` is set). Always false on a model without one. */
  get isTrashed(): boolean {
    return isTrashed(meta(this), this as unknown as Instance);
  }
}

/** The metadata of a model class, for tools built on polyrecord. */
export function modelMetadata(model: Function): ModelMeta | undefined {
  return metaOf(model);
}
