import type { Knex } from 'knex';
import type { RowLock } from '../connection/dialects/dialect.js';
import { QueryBuilderError, RecordNotFoundError } from '../errors.js';
import { columnValue, counterStep } from './column-values.js';
import { coarseColumns, fitDate } from './datetime-digits.js';
import { aggregateExpression, count as countOf, resolveAggregate, type Aggregate, type AggregateValue } from './aggregates.js';
import { decoders } from '../connection/column-codecs.js';
import { GroupedQuery } from './grouped-query.js';
import { hydratorFor } from './hydration.js';
import type { ModelMeta } from './metadata.js';
import { compiled, slot, type CompiledStatement } from './statement-compiler.js';
import { conditionsBuilder, emptyState, encodeValues, execOptionsFor, readOptionsFor, nonNegativeInteger, statementText, targetFor, type QueryState, type StatementText } from './query-state.js';
import { encodeFor, resolveTarget, runStatement, type Target } from './target.js';
import type { Attributes, Prop, Selected } from './types.js';
import { QueryConditions } from './query-conditions.js';
import { checkRawPlaceholders, OPERATORS, type Operator } from './where-nodes.js';
import { addCount, addFilter, addPreload, setKeyLimit, type RelationConstraint } from './relations/relation-specs.js';
import { countAcross, resolveRelationConditions } from './relations/relation-conditions.js';
import { loadPreloads } from './relations/preload-engine.js';
import { provideModelQuery } from './query-class.js';
import { setCount } from './relations/record-relations.js';
import type { PreloadPath, RelatedQueryOf, RelationName } from './relations/relation-typing.js';

export { OPERATORS, checkRawPlaceholders, type Operator };

/** A query handed through a promise without being run (a promise resolving to a thenable would run it). */
interface Wrapped<Q> {
  readonly query: Q;
}

/** What `paginate()` resolves with. */
export interface Page<R> {
  /** The rows of this page. */
  readonly data: R[];
  /** Rows matching the query, over all pages. */
  readonly total: number;
  /** This page's number, from 1. */
  readonly page: number;
  readonly perPage: number;
  /** The number of the last page (1 when nothing matches). */
  readonly lastPage: number;
}
export type { ConditionGroup, RawSqlOptions } from './query-conditions.js';

/**
 * A chainable, immutable query over one model: every method returns a new query.
 * Awaiting it (or `.all()`) resolves with model instances (`R`: the model, or the
 * properties `select()` picked). Property names are checked against the model's
 * columns and values are always bound parameters.
 *
 * @example
 * ```ts
 * const active = await User.where({ status: 'active' }).where('score', '>', 10).orderBy('createdAt', 'desc').limit(20)
 * ```
 */
export class ModelQuery<M extends object, R = M> extends QueryConditions<M> implements Promise<R[]> {
  /** @internal Use `Model.query()`. */
  constructor(meta: ModelMeta, explicit: string | undefined, state?: QueryState, primary = false) {
    super(meta, state ?? emptyState(explicit, primary));
  }

  /** @internal */
  protected withState(state: QueryState): this {
    return new ModelQuery<M, R>(this.meta, undefined, state) as this;
  }

  /** @internal The model and state behind a query, for the relation code. */
  static stateOf(query: ModelQuery<object, unknown>): { meta: ModelMeta; state: QueryState } {
    return { meta: query.meta, state: query.state };
  }

  // ---- relations (docs/relations.md) -------------------------------------------

  /**
   * Loads a relation onto every record the query returns: one more query per relation
   * (per level of a dotted path, plus the pivot of a many-to-many), whatever the number
   * of records. `constrain` refines the related query (and may preload further).
   *
   * @example
   * ```ts
   * const artists = await Artist.query()
   *   .preload('albums', (q) => q.where('year', '>', 2000).orderBy('year').preload('tracks'))
   *   .preload('label')
   * ```
   */
  preload<P extends PreloadPath<M>>(path: P, constrain?: (query: RelatedQueryOf<M, P>) => unknown): this {
    return this.withState(addPreload(this.meta, this.state, path, constrain as RelationConstraint | undefined));
  }

  /**
   * Counts related records into `record.$counts[name]`. On the parent's connection this
   * is a correlated subquery of the same statement; across connections, one grouped
   * count per chunk of parent keys after the parents are read.
   *
   * @example
   * ```ts
   * const artists = await Artist.query().withCount('albums', (q) => q.where('year', '>', 2000))
   * artists[0].$counts.albums
   * ```
   */
  withCount<N extends RelationName<M>>(name: N, constrain?: (query: RelatedQueryOf<M, N>) => unknown): this {
    return this.withState(addCount(this.meta, this.state, name, constrain as RelationConstraint | undefined));
  }

  /**
   * Only records with at least one related record (matching `constrain`): `EXISTS (…)`
   * on the same connection; across connections the related keys are read there first
   * (at most {@link crossConnectionKeyLimit} of them) and matched with `IN` here.
   *
   * @example
   * ```ts
   * const withRecentAlbums = await Artist.whereHas('albums', (q) => q.where('year', '>', 2020))
   * ```
   */
  whereHas<N extends RelationName<M>>(name: N, constrain?: (query: RelatedQueryOf<M, N>) => unknown): this {
    return this.withState(addFilter(this.meta, this.state, name, false, constrain as RelationConstraint | undefined));
  }

  /** Only records without any related record (matching `constrain`); see {@link whereHas}. */
  whereDoesntHave<N extends RelationName<M>>(name: N, constrain?: (query: RelatedQueryOf<M, N>) => unknown): this {
    return this.withState(addFilter(this.meta, this.state, name, true, constrain as RelationConstraint | undefined));
  }

  /** The most keys `withCount` / `whereHas` of this query may carry across connections (default: `manager.crossConnectionKeyLimit`, 10,000). */
  crossConnectionKeyLimit(limit: number): this {
    return this.withState(setKeyLimit(this.state, limit));
  }

  /**
   * This query with its relation filters (and, to read rows, its counts) compiled for the
   * connection it runs on. Anything but a row read keeps only the filters: a count or an
   * update has no use for preloads and counts.
   */
  async #resolved(target: Target, forRows = false): Promise<Wrapped<this>> {
    const work = this.state.relations!;
    const state = forRows ? this.state : { ...this.state, relations: { ...work, preloads: [], counts: [] } };
    const resolved = await resolveRelationConditions(this.meta, state, target);
    // Wrapped: a query is thenable, and a promise resolving to one would run it.
    return { query: this.withState(forRows ? resolved : { ...resolved, relations: undefined }) };
  }

  /** A query with another result type (after select/distinct). */
  #retyped<R2>(patch: Partial<QueryState>): ModelQuery<M, R2> {
    return new ModelQuery<M, R2>(this.meta, undefined, { ...this.state, ...patch });
  }

  orderBy<K extends Prop<M>>(property: K, direction: 'asc' | 'desc' = 'asc'): this {
    const column = this.meta.column(property);
    if (direction !== 'asc' && direction !== 'desc') throw new QueryBuilderError(`orderBy direction must be 'asc' or 'desc', got ${JSON.stringify(direction)}`);
    return this.with({ orders: [...this.state.orders, { column: column.column, direction }] });
  }

  limit(count: number): this {
    return this.with({ limit: nonNegativeInteger('limit', count) });
  }

  offset(count: number): this {
    return this.with({ offset: nonNegativeInteger('offset', count) });
  }

  /** Loads only these properties (the others stay unset on the instances, and the result type has only these). */
  select<K extends Prop<M>>(...properties: K[]): ModelQuery<M, Selected<M, K>> {
    if (properties.length === 0) throw new QueryBuilderError('select() needs at least one property');
    return this.#retyped({ select: properties.map((p) => this.meta.column(p)) });
  }

  /**
   * `SELECT DISTINCT`: without properties over the selected ones, with properties it
   * also selects just those.
   *
   * @example
   * ```ts
   * const cities = (await Customer.query().distinct('city').orderBy('city')).map((c) => c.city)
   * ```
   */
  distinct(): this;
  distinct<K extends Prop<M>>(...properties: K[]): ModelQuery<M, Selected<M, K>>;
  distinct(...properties: Prop<M>[]): ModelQuery<M, unknown> {
    return (properties.length ? this.select(...properties) : this).#retyped({ distinct: true });
  }

  /**
   * Locks the rows read (`SELECT … FOR UPDATE`) until the transaction ends; refine with
   * `skipLocked()` or `noWait()`. Only inside a transaction (else a `TransactionError`),
   * and only for row reads (`all`, `first`, `pluck`). PostgreSQL and MySQL/MariaDB lock
   * rows; on SQLite it is a no-op (a transaction there already holds the whole database).
   *
   * @example
   * ```ts
   * await Account.transaction(async () => {
   *   const account = await Account.where('id', id).forUpdate().first()
   * })
   * ```
   */
  forUpdate(): this {
    return this.with({ lock: { mode: 'update', wait: 'wait' } });
  }

  /**
   * Marks this query's `update()` / `delete()` as safe to run twice (setting values, not adding
   * to them): outside a transaction, if its session is lost before the answer arrives (a killed
   * session, a restarted server), it runs again on a fresh one, like a read (the connection's
   * `lostSessionRetries`). Unmarked writes are never rerun: the first run may have committed.
   *
   * @example
   * ```ts
   * await Session.where('expiresAt', '<', new Date()).idempotent().delete()
   * ```
   */
  idempotent(): this {
    return this.with({ idempotent: true });
  }

  /** Like {@link forUpdate} with a shared lock: others may read-lock the rows too, but not change them. */
  forShare(): this {
    return this.with({ lock: { mode: 'share', wait: 'wait' } });
  }

  /** Leaves out rows another transaction has locked, instead of waiting (after `forUpdate()` / `forShare()`). */
  skipLocked(): this {
    return this.#lockWait('skipLocked');
  }

  /** Fails with a `LockNotAvailableError` at once when a row is locked, instead of waiting (after `forUpdate()` / `forShare()`). */
  noWait(): this {
    return this.#lockWait('noWait');
  }

  #lockWait(wait: RowLock['wait']): this {
    const lock = this.state.lock;
    if (lock === undefined) throw new QueryBuilderError(`${wait}() refines a row lock: call forUpdate() or forShare() first`);
    return this.with({ lock: { mode: lock.mode, wait } });
  }

  /**
   * Groups the matching rows by these properties; add aggregates with `.aggregate()`.
   * Awaiting the grouped query resolves with plain typed rows.
   *
   * @example
   * ```ts
   * const top = await Order.where('status', 'paid').groupBy('customerId')
   *   .aggregate({ revenue: sum('total'), orders: count() })
   *   .having('revenue', '>', 100).orderBy('revenue', 'desc')
   * // [{ customerId: 7, revenue: 1250, orders: 9 }, …]
   * ```
   */
  groupBy<K extends Prop<M>>(...properties: K[]): GroupedQuery<M, K, {}> {
    const s = this.state;
    if (s.orders.length || s.limit !== undefined || s.offset !== undefined || s.select || s.distinct) {
      throw new QueryBuilderError('groupBy() starts from conditions only: put orderBy/limit/offset on the grouped query, and select/distinct have no meaning there');
    }
    this.#assertNoLock('groupBy');
    if (s.relations?.filters.length || s.relations?.counts.length || s.relations?.pivotParent) throw new QueryBuilderError('groupBy() cannot take whereHas / whereDoesntHave / withCount (or the related() of a many-to-many whose pivot is on another connection) yet: filter with whereIn on keys you read first');
    if (properties.length === 0) throw new QueryBuilderError('groupBy() needs at least one property');
    return new GroupedQuery(this.meta, s, properties.map((p) => this.meta.column(p)));
  }

  /** Runs the query and hydrates model instances (then loads its preloads and counts). */
  async all(): Promise<R[]> {
    const target = targetFor(this.meta, this.state);
    if (this.state.relations === undefined) return this.#fetch(target);
    const { query } = await this.#resolved(target, true);
    const out = await query.#fetch(target);
    await countAcross(this.meta, out as object[], query.state, target);
    await loadPreloads(this.meta, out as object[], query.state.relations!.preloads);
    return out;
  }

  /**
   * @internal The instances, and for each the value of the SQL `expression`, selected after
   * the columns: a value as the database gives it, not as the column's JS type holds it (the
   * sync job's exact watermark). No preloads or counts.
   */
  async allWith(expression: string): Promise<[R[], unknown[]]> {
    if (this.state.relations !== undefined) throw new QueryBuilderError('allWith() takes no preloads or counts');
    const extra: unknown[] = [];
    return [await this.#fetch(targetFor(this.meta, this.state), { expression, values: extra }), extra];
  }

  async #fetch(target: Target, extra?: { expression: string; values: unknown[] }): Promise<R[]> {
    const columns = this.state.select ?? this.meta.columns;
    // Rows as arrays: no object per row before the instance is built.
    const { rows } = await runStatement(target, this.#allStatement(target, extra?.expression), this.#encodedValues(target), readOptionsFor(this.meta, this.state, target, true));
    const out = hydratorFor(this.meta, columns).all(rows as unknown as unknown[][], target.connection.name) as R[];
    // Counts are selected after the columns, in this order.
    for (const [j, count] of (this.state.relations?.countColumns ?? []).entries()) {
      const at = columns.length + j;
      for (let i = 0; i < rows.length; i++) setCount(out[i] as object, count.name, Number((rows[i] as unknown as unknown[])[at]));
    }
    // allWith() has no counts: its expression follows the columns.
    if (extra) for (const row of rows) extra.values.push((row as unknown as unknown[])[columns.length]);
    return out;
  }

  #allStatement(target: Target, expression?: string): CompiledStatement {
    const s = this.state;
    return this.#compile(
      target,
      expression === undefined ? 'all' : `all+${expression}`,
      (q) => {
        const columns = (s.select ?? this.meta.columns).map((c) => c.column);
        const selected = s.distinct ? q.distinct(columns) : q.select(columns);
        for (const count of s.relations?.countColumns ?? []) selected.select(count.build(target.connection.knex, count.start).as(count.alias) as never);
        if (expression !== undefined) selected.select(target.connection.knex.raw(expression) as never);
        return selected;
      },
      s.lock && target.connection.dialect.lockClause(s.lock),
    );
  }

  /** The first matching instance, or `null`. */
  async first(): Promise<R | null> {
    const [first] = await this.limit(1).all();
    return first ?? null;
  }

  /** Whether any row matches. */
  async exists(): Promise<boolean> {
    this.#assertNoLock('exists');
    const target = targetFor(this.meta, this.state);
    if (this.state.relations) return (await this.#resolved(target)).query.exists();
    const statement = this.#compile(target, 'exists', (q) => q.clearOrder().select(q.client.raw('1 as e')).limit(1));
    const { rows } = await runStatement(target, statement, this.#encodedValues(target), readOptionsFor(this.meta, this.state, target));
    return rows.length > 0;
  }

  /** The values of one property, typed like the model's. */
  async pluck<K extends Prop<M>>(property: K): Promise<M[K][]> {
    const column = this.meta.column(property);
    const s = this.state;
    const target = targetFor(this.meta, s);
    if (s.relations) return (await this.#resolved(target)).query.pluck(property);
    const statement = this.#compile(target, `pluck:${column.column}`, (q) => (s.distinct ? q.distinct(column.column) : q.select(column.column)), s.lock && target.connection.dialect.lockClause(s.lock));
    const { rows } = await runStatement(target, statement, this.#encodedValues(target), readOptionsFor(this.meta, s, target));
    const decode = decoders[column.type];
    return rows.map((row) => decode(row[column.column]) as M[K]);
  }

  /** Number of matching rows, or (with a property) of those where it is not NULL. With limit/offset/distinct, of the rows those leave. */
  count(property?: Prop<M>): Promise<number> {
    return this.#aggregate(property === undefined ? countOf() : countOf(property)) as Promise<number>;
  }

  /** Number of distinct non-NULL values of a property among the matching rows. */
  countDistinct(property: Prop<M>): Promise<number> {
    return this.#aggregate({ fn: 'countDistinct', property }) as Promise<number>;
  }

  /**
   * The sum of a numeric property over the matching rows: a bigint for a bigint column,
   * else a number; `null` when no row matches. The rule for every aggregate is in docs/queries.md.
   *
   * @example
   * ```ts
   * const revenue = await Order.where('status', 'paid').sum('total')
   * ```
   */
  sum<K extends Prop<M>>(property: K): Promise<AggregateValue<M, Aggregate<'sum', K>>> {
    return this.#aggregate({ fn: 'sum', property }) as Promise<AggregateValue<M, Aggregate<'sum', K>>>;
  }

  /** The average of a numeric property (a number), `null` when no row matches. */
  avg<K extends Prop<M>>(property: K): Promise<number | null> {
    return this.#aggregate({ fn: 'avg', property }) as Promise<number | null>;
  }

  /** The smallest value of a property, typed like the property; `null` when no row matches. */
  min<K extends Prop<M>>(property: K): Promise<NonNullable<M[K]> | null> {
    return this.#aggregate({ fn: 'min', property }) as Promise<NonNullable<M[K]> | null>;
  }

  /** The largest value of a property, typed like the property; `null` when no row matches. */
  max<K extends Prop<M>>(property: K): Promise<NonNullable<M[K]> | null> {
    return this.#aggregate({ fn: 'max', property }) as Promise<NonNullable<M[K]> | null>;
  }

  async #aggregate(spec: Aggregate): Promise<unknown> {
    const aggregate = resolveAggregate(this.meta, spec);
    this.#assertNoLock(aggregate.fn);
    const s = this.state;
    const column = aggregate.column?.column;
    // LIMIT, OFFSET and DISTINCT choose the rows to aggregate: they run in a subquery.
    const windowed = s.limit !== undefined || s.offset !== undefined || s.distinct;
    if (windowed && s.distinct && column !== undefined && !(s.select ?? this.meta.columns).some((c) => c.column === column)) {
      throw new QueryBuilderError(`${aggregate.fn}(${aggregate.column!.property}) over a distinct query needs ${aggregate.column!.property} among its properties`);
    }
    const target = targetFor(this.meta, s);
    if (s.relations) return (await this.#resolved(target)).query.#aggregate(spec);
    const statement = this.#compile(target, `agg:${aggregate.fn}:${column ?? '*'}`, (q) => {
      const knex = target.connection.knex;
      const expression = aggregateExpression(knex, aggregate, 'value');
      if (!windowed) return q.clearOrder().select(expression);
      const rows = s.distinct ? q.distinct((s.select ?? this.meta.columns).map((c) => c.column)) : q.select(column ?? knex.raw('1 as one'));
      return knex.from(rows.as('rows')).select(expression);
    });
    const { rows } = await runStatement(target, statement, this.#encodedValues(target), readOptionsFor(this.meta, s, target));
    return aggregate.decode(rows[0]?.value ?? null);
  }

  /**
   * Updates every matching row in one statement; resolves with the number of rows
   * changed. Runs no per-record hooks and does not touch `@UpdatedAt` unless you set it.
   */
  async update(attributes: Partial<Attributes<M>>): Promise<number> {
    this.#assertNoOrderOrPaging('update');
    const count = await this.#update(attributes);
    this.meta.events.emit('bulk', { operation: 'update', count });
    return count;
  }

  async #update(attributes: Partial<Attributes<M>>): Promise<number> {
    const entries = Object.entries(attributes ?? {}).filter(([, v]) => v !== undefined);
    if (entries.length === 0) throw new QueryBuilderError('update() needs at least one property to set');
    const columns = entries.map(([property]) => this.meta.column(property));
    const assigned = entries.map(([, value], i) => columnValue(this.meta.name, columns[i]!, value));
    const target = targetFor(this.meta, this.state);
    if (this.state.relations) return (await this.#resolved(target)).query.#update(attributes);
    const whereCount = this.state.values.length;
    const statement = this.#compile(target, `update:${columns.map((c) => c.column).join(',')}`, (q) =>
      q.update(Object.fromEntries(columns.map((c, i) => [c.column, slot(whereCount + i)]))),
    );
    const coarse = await coarseColumns(this.meta, target.connection);
    const values = [...this.#encodedValues(target), ...assigned.map((value, i) => encodeFor(target, columns[i]!, fitDate(columns[i]!, value, coarse)))];
    return (await runStatement(target, statement, values, execOptionsFor(this.meta, this.state, target))).affected;
  }

  /**
   * Adds `by` (default 1) to a numeric property of every matching row in one statement
   * (`SET credits = credits + ?`): concurrent increments never overwrite each other.
   * Resolves with the number of rows changed. No hooks; one `bulk` event.
   *
   * @example
   * ```ts
   * await User.where('plan', 'pro').increment('credits', 5)
   * ```
   */
  increment<K extends Prop<M>>(property: K, by: number | bigint = 1): Promise<number> {
    return this.#increment(property, by, false);
  }

  /** Subtracts `by` (default 1) from a numeric property of every matching row; see {@link increment}. */
  decrement<K extends Prop<M>>(property: K, by: number | bigint = 1): Promise<number> {
    return this.#increment(property, by, true);
  }

  async #increment(property: string, by: unknown, down: boolean): Promise<number> {
    this.#assertNoOrderOrPaging(down ? 'decrement' : 'increment');
    const column = this.meta.column(property);
    const amount = counterStep(this.meta.name, column, by, down);
    const target = targetFor(this.meta, this.state);
    if (this.state.relations) return (await this.#resolved(target)).query.#increment(property, by, down);
    const whereCount = this.state.values.length;
    const operand = column.type === 'float' ? '?' : target.connection.dialect.integerOperand;
    const statement = this.#compile(target, `increment:${column.column}`, (q) => q.update({ [column.column]: q.client.raw(`?? + ${operand}`, [column.column, slot(whereCount)]) }));
    const values = [...this.#encodedValues(target), encodeFor(target, column, amount)];
    const count = (await runStatement(target, statement, values, execOptionsFor(this.meta, this.state, target))).affected;
    this.meta.events.emit('bulk', { operation: 'update', count });
    return count;
  }

  /**
   * One page of the matching rows and the figures to page through them: `total` rows,
   * `lastPage` (at least 1). Pages count from 1; the query's order is kept (order by a
   * unique property for stable pages). Two statements: a count and the page.
   *
   * @example
   * ```ts
   * const { data, total, lastPage } = await Post.where('published', true).orderBy('id', 'desc').paginate(2, 20)
   * ```
   */
  async paginate(page: number, perPage: number): Promise<Page<R>> {
    if (this.state.limit !== undefined || this.state.offset !== undefined) throw new QueryBuilderError('paginate() sets limit and offset itself: remove them from the query');
    if (nonNegativeInteger('paginate() page', page) < 1) throw new QueryBuilderError('paginate() pages count from 1');
    if (nonNegativeInteger('paginate() perPage', perPage) < 1) throw new QueryBuilderError('paginate() perPage must be at least 1');
    const total = await this.#aggregate(countOf());
    const data = await this.limit(perPage)
      .offset((page - 1) * perPage)
      .all();
    return { data, total: total as number, page, perPage, lastPage: Math.max(1, Math.ceil((total as number) / perPage)) };
  }

  /**
   * Deletes every matching row in one statement; resolves with the number deleted. Runs
   * no per-record hooks. On a soft-deleting model it soft-deletes instead: one UPDATE
   * sets `@DeletedAt` (and `@UpdatedAt`) to now on the matching live rows (soft-deleted
   * ones keep their time, so `onlyTrashed().delete()` changes nothing); use
   * {@link forceDelete} to delete rows.
   */
  async delete(): Promise<number> {
    this.#assertNoOrderOrPaging('delete');
    if (!this.meta.deletedAt) return this.#forceDelete();
    const count = this.state.trashed === 'only' ? 0 : await this.with({ trashed: 'without' }).#update(this.#deletedAtValues(true));
    this.meta.events.emit('bulk', { operation: 'delete', count, soft: true });
    return count;
  }

  // ---- soft deletes ----------------------------------------------------------

  /**
   * The query, soft-deleted rows included (on a model without `@DeletedAt` it changes nothing).
   *
   * @example
   * ```ts
   * const everything = await Post.where({ authorId }).withTrashed().all()
   * ```
   */
  withTrashed(): this {
    return this.#scope('with');
  }

  /**
   * The query over soft-deleted rows only. A model without `@DeletedAt` raises a ModelDefinitionError.
   *
   * @example
   * ```ts
   * const bin = await Post.onlyTrashed().orderBy('deletedAt', 'desc').limit(20)
   * ```
   */
  onlyTrashed(): this {
    this.meta.softDeleteColumn('onlyTrashed()');
    return this.#scope('only');
  }

  // The scope is part of the statement's shape: it goes into the cache key with the conditions.
  #scope(trashed: QueryState['trashed']): this {
    return trashed === this.state.trashed ? this : this.with({ trashed, key: `${this.state.key}~${trashed};` });
  }

  /**
   * Deletes the matching rows for real, soft-deleting model or not. It sees the rows any
   * query sees: `onlyTrashed().forceDelete()` purges the soft-deleted ones.
   *
   * @example
   * ```ts
   * await Post.onlyTrashed().where('deletedAt', '<', cutoff).forceDelete()
   * ```
   */
  async forceDelete(): Promise<number> {
    this.#assertNoOrderOrPaging('forceDelete');
    return this.#forceDelete();
  }

  /**
   * Restores the matching soft-deleted rows (`@DeletedAt` null, `@UpdatedAt` now) in one
   * UPDATE; resolves with their number. It looks at soft-deleted rows whatever the scope:
   * `Post.where({ authorId }).restore()` needs no `onlyTrashed()`.
   */
  async restore(): Promise<number> {
    this.meta.softDeleteColumn('restore()');
    this.#assertNoOrderOrPaging('restore');
    const count = await this.#scope('only').#update(this.#deletedAtValues(false));
    this.meta.events.emit('bulk', { operation: 'update', count });
    return count;
  }

  /** The record with this primary key among the rows the query sees, or `null` (`Post.withTrashed().find(id)`). */
  async find(key: unknown): Promise<R | null> {
    if (key === undefined || key === null) throw new QueryBuilderError(`${this.meta.name}.find() needs a primary key value`);
    return this.where(this.meta.primaryKey.property as Prop<M>, key as M[Prop<M>]).first();
  }

  /** Like {@link find}, or a {@link RecordNotFoundError}. */
  async findOrFail(key: unknown): Promise<R> {
    const found = await this.find(key);
    if (!found) throw new RecordNotFoundError(this.meta.name, key);
    return found;
  }

  /** `@DeletedAt` (now, or null) and `@UpdatedAt` (now) as update() attributes. */
  #deletedAtValues(trash: boolean): Partial<Attributes<M>> {
    const now = new Date();
    const values: Record<string, unknown> = { [this.meta.deletedAt!.property]: trash ? now : null };
    const updatedAt = this.meta.updatedAt;
    if (updatedAt) values[updatedAt.property] = new Date(now.getTime());
    return values as Partial<Attributes<M>>;
  }

  async #forceDelete(): Promise<number> {
    const target = targetFor(this.meta, this.state);
    if (this.state.relations) return (await this.#resolved(target)).query.#forceDelete();
    const statement = this.#compile(target, 'delete', (q) => q.delete());
    const count = (await runStatement(target, statement, this.#encodedValues(target), execOptionsFor(this.meta, this.state, target))).affected;
    this.meta.events.emit('bulk', { operation: 'delete', count });
    return count;
  }

  /**
   * Iterates matching rows in arrays of `size`, paging by primary key (keyset, not
   * OFFSET), so memory stays flat however many rows there are.
   *
   * @example
   * ```ts
   * for await (const users of User.where({ active: true }).batch(1000)) await process(users)
   * ```
   */
  async *batch(size: number): AsyncGenerator<R[], void, undefined> {
    nonNegativeInteger('batch size', size);
    if (size < 1) throw new QueryBuilderError('batch size must be at least 1');
    if (this.state.orders.length || this.state.limit !== undefined || this.state.offset !== undefined) {
      throw new QueryBuilderError('batch() pages by primary key: remove orderBy/limit/offset from the query');
    }
    const pk = this.meta.primaryKey;
    const base = this.orderBy(pk.property as Prop<M>).limit(size);
    let page = await base.all();
    while (page.length > 0) {
      yield page;
      if (page.length < size) return;
      const last = (page[page.length - 1] as Record<string, unknown>)[pk.property];
      if (last === undefined || last === null) throw new QueryBuilderError('batch() needs the primary key in the selected properties');
      page = await base.where(pk.property as Prop<M>, '>', last as M[Prop<M>]).all();
    }
  }

  /**
   * The statement awaiting this query would run on its connection's dialect, for
   * debugging: its text (native placeholders) and its bindings, encoded as sent.
   *
   * @example
   * ```ts
   * User.where('email', 'like', '%@x.org').limit(5).toSQL()
   * // PostgreSQL: { sql: 'select "id", … from "users" where "email" like $1 limit $2', bindings: ['%@x.org', 5] }
   * ```
   */
  toSQL(): StatementText {
    const target = resolveTarget(this.meta, this.state.explicit);
    return statementText(this.#allStatement(target), this.#encodedValues(target));
  }

  // A query is a promise of its rows: `await query` (or then/catch/finally) runs it, like `.all()`.
  then<R1 = R[], R2 = never>(onfulfilled?: ((value: R[]) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return this.all().then(onfulfilled, onrejected);
  }

  catch<R2 = never>(onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R[] | R2> {
    return this.all().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<R[]> {
    return this.all().finally(onfinally);
  }

  get [Symbol.toStringTag](): string {
    return 'ModelQuery';
  }

  #encodedValues(target: Target): unknown[] {
    return encodeValues(this.state.values, this.state.types, target.connection.dialect);
  }

  #assertNoOrderOrPaging(operation: string): void {
    if (this.state.orders.length || this.state.limit !== undefined || this.state.offset !== undefined || this.state.distinct) {
      throw new QueryBuilderError(`${operation}() applies to every matching row: remove orderBy/limit/offset/distinct`);
    }
    this.#assertNoLock(operation);
  }

  #assertNoLock(operation: string): void {
    if (this.state.lock) throw new QueryBuilderError(`${operation}() takes no row lock: forUpdate()/forShare() apply to row reads (all, first, pluck)`);
  }

  #compile(target: Target, mode: string, finish: (q: Knex.QueryBuilder) => Knex.QueryBuilder, suffix?: string): CompiledStatement {
    const s = this.state;
    const select = s.select ? s.select.map((c) => c.column).join(',') : '*';
    const key = `${mode}|${s.key}|o${s.orders.map((o) => `${o.column} ${o.direction}`).join(',')}|l${s.limit ?? ''}|f${s.offset ?? ''}|s${select}${s.distinct ? '|d' : ''}${s.lock ? `|${s.lock.mode}:${s.lock.wait}` : ''}`;
    return compiled(
      this.meta,
      target.connection,
      key,
      (knex) => {
        let q = conditionsBuilder(knex, this.meta, s, target.connection.dialect);
        for (const order of s.orders) q = q.orderBy(order.column, order.direction);
        if (s.limit !== undefined) q = q.limit(s.limit);
        if (s.offset !== undefined) q = q.offset(s.offset);
        return finish(q);
      },
      suffix,
    );
  }
}

provideModelQuery(ModelQuery);
