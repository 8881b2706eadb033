import type { Knex } from 'knex';
import { QueryBuilderError, RecordNotFoundError } from '../errors.js';
import { decoders, encodeValue as encodeForType, type ResolvedType } from './column-types.js';
import { columnValue } from './column-values.js';
import { coarseColumns, fitDate } from './datetime-digits.js';
import { hydratorFor } from './hydration.js';
import type { ColumnMeta, ModelMeta, TrashedScope } from './metadata.js';
import { compiled, slot } from './statement-compiler.js';
import type { BoundList, ExecOptions, ListElementType, PreparePolicy } from '../connection/dialects/dialect.js';
import { encodeFor, execOptions, resolveTarget, runStatement, type Target } from './target.js';
import type { Attributes, Prop } from './types.js';

/** Comparison operators accepted by `where(prop, op, value)`. Anything else is refused before SQL is built. */
export const OPERATORS = ['=', '!=', '<>', '<', '<=', '>', '>=', 'like', 'not like'] as const;
export type Operator = (typeof OPERATORS)[number];

type Bool = 'and' | 'or';
type WhereNode =
  | { kind: 'op'; bool: Bool; column: string; op: Operator }
  | { kind: 'in'; bool: Bool; column: string; not: boolean; count: number }
  | { kind: 'inList'; bool: Bool; column: string; not: boolean }
  | { kind: 'null'; bool: Bool; column: string; not: boolean }
  | { kind: 'raw'; bool: Bool; sql: string; count: number }
  | { kind: 'after'; bool: Bool; columns: readonly string[] }
  | { kind: 'group'; bool: Bool; nodes: readonly WhereNode[] };

interface QueryState {
  readonly explicit: string | undefined;
  /** Shape of the WHERE part: the compiled-statement cache key. */
  readonly key: string;
  readonly wheres: readonly WhereNode[];
  readonly values: readonly unknown[];
  readonly types: readonly ValueType[];
  readonly orders: readonly { column: string; direction: 'asc' | 'desc' }[];
  readonly limit: number | undefined;
  readonly offset: number | undefined;
  readonly select: readonly ColumnMeta[] | undefined;
  /** `'never'` once a raw fragment whose caller did not ask for preparing is part of the text. */
  readonly prepare: PreparePolicy;
  /** A long `whereIn` list is bound as one value (where the dialect writes it into the text, the query runs unprepared). */
  readonly boundList: boolean;
  /** Soft-deleting models: which rows the query sees (`'without'` the soft-deleted ones unless asked). */
  readonly trashed: TrashedScope;
}

/** How a bound value is encoded: as a column type, or (a long `whereIn` list) as a list of them bound as one value. */
type ValueType = ResolvedType | { readonly list: ResolvedType };

/**
 * Longer `whereIn` lists are bound as one value (an array, or JSON the database reads as
 * a table): one statement shape for any length, far from every placeholder limit. Shorter
 * ones get a placeholder each, padded to a power of two (11 shapes at most).
 */
const MAX_INLINE_LIST = 1_024;

const LIST_ELEMENT_TYPES: Record<ResolvedType, ListElementType> = {
  integer: 'integer',
  bigint: 'integer',
  float: 'float',
  string: 'string',
  json: 'string',
  any: 'string',
  boolean: 'boolean',
  date: 'date',
  datetime: 'datetime',
};

/** Options of `whereRaw()` and `Model.rawQuery()`. */
export interface RawSqlOptions {
  /**
   * The text is a fixed shape that will run again (values are bindings, nothing is
   * inlined): let the query be prepared on the server once it repeats, like the
   * builder's own conditions. Default false: raw texts often inline values, and
   * preparing each would fill the server's statement memory.
   */
  prepare?: boolean;
}

/**
 * A chainable, immutable query over one model: every method returns a new query.
 * Awaiting it (or `.all()`) resolves with model instances. Property names are checked
 * against the model's columns and values are always bound parameters.
 *
 * @example
 * ```ts
 * const active = await User.where({ status: 'active' }).where('score', '>', 10).orderBy('createdAt', 'desc').limit(20)
 * ```
 */
export class ModelQuery<M extends object> implements PromiseLike<M[]> {
  readonly #meta: ModelMeta;
  readonly #state: QueryState;

  /** @internal Use `Model.query()`. */
  constructor(meta: ModelMeta, explicit: string | undefined, state?: QueryState) {
    this.#meta = meta;
    this.#state = state ?? { explicit, key: '', wheres: [], values: [], types: [], orders: [], limit: undefined, offset: undefined, select: undefined, prepare: 'auto', boundList: false, trashed: 'without' };
  }

  #with(patch: Partial<QueryState>): ModelQuery<M> {
    return new ModelQuery<M>(this.#meta, undefined, { ...this.#state, ...patch });
  }

  #addWhere(node: WhereNode, keyPart: string, values: readonly unknown[], type: ValueType): ModelQuery<M> {
    const s = this.#state;
    return this.#with({
      key: `${s.key}${node.bool === 'or' ? '|' : '&'}${keyPart};`,
      wheres: [...s.wheres, node],
      values: values.length ? [...s.values, ...values] : s.values,
      types: values.length ? [...s.types, ...values.map(() => type)] : s.types,
    });
  }

  /** `where({ status: 'active', deletedAt: null })`, `where('score', 10)` or `where('score', '>', 10)`. */
  where(conditions: Partial<Attributes<M>>): ModelQuery<M>;
  where<K extends Prop<M>>(property: K, value: M[K] | null): ModelQuery<M>;
  where<K extends Prop<M>>(property: K, operator: Operator, value: M[K] | null): ModelQuery<M>;
  where(...args: unknown[]): ModelQuery<M> {
    return this.#where('and', args);
  }

  /** Like {@link where}, joined with OR. */
  orWhere(conditions: Partial<Attributes<M>>): ModelQuery<M>;
  orWhere<K extends Prop<M>>(property: K, value: M[K] | null): ModelQuery<M>;
  orWhere<K extends Prop<M>>(property: K, operator: Operator, value: M[K] | null): ModelQuery<M>;
  orWhere(...args: unknown[]): ModelQuery<M> {
    return this.#where('or', args);
  }

  #where(bool: Bool, args: unknown[]): ModelQuery<M> {
    if (args.length === 1) {
      const conditions = args[0];
      if (conditions === null || typeof conditions !== 'object' || Array.isArray(conditions)) throw new QueryBuilderError('where() takes an object of { property: value }, or (property, value), or (property, operator, value)');
      const entries = Object.entries(conditions);
      if (bool === 'or' && entries.length > 1) return this.#orGroup(entries);
      let query: ModelQuery<M> = this;
      for (const [property, value] of entries) query = query.#comparison(bool, property, '=', value);
      return query;
    }
    if (args.length === 2) return this.#comparison(bool, args[0] as string, '=', args[1]);
    if (args.length === 3) return this.#comparison(bool, args[0] as string, args[1] as Operator, args[2]);
    throw new QueryBuilderError(`where() takes 1 to 3 arguments, got ${args.length}`);
  }

  /** `orWhere({ a, b })` means `OR (a AND b)`, as in knex and Lucid: the object's conditions hold together. */
  #orGroup(entries: ReadonlyArray<[string, unknown]>): ModelQuery<M> {
    let inner = new ModelQuery<M>(this.#meta, undefined);
    for (const [property, value] of entries) inner = inner.#comparison('and', property, '=', value);
    const s = this.#state;
    const i = inner.#state;
    return this.#with({
      key: `${s.key}|(${i.key});`,
      wheres: [...s.wheres, { kind: 'group', bool: 'or', nodes: i.wheres }],
      values: [...s.values, ...i.values],
      types: [...s.types, ...i.types],
    });
  }

  #comparison(bool: Bool, property: string, operator: Operator, value: unknown): ModelQuery<M> {
    const column = this.#meta.column(property);
    if (!OPERATORS.includes(operator)) throw new QueryBuilderError(`unknown operator ${JSON.stringify(operator)}; use one of ${OPERATORS.join(', ')}`);
    if (value === null) {
      if (operator !== '=' && operator !== '!=' && operator !== '<>') throw new QueryBuilderError(`cannot compare ${property} ${operator} null`);
      return this.#addWhere({ kind: 'null', bool, column: column.column, not: operator !== '=' }, `n${operator === '=' ? '' : '!'}${column.column}`, [], column.type);
    }
    return this.#addWhere({ kind: 'op', bool, column: column.column, op: operator }, `${column.column}${operator}`, [checkValue(this.#meta, column, value)], column.type);
  }

  /** `whereNot('status', 'banned')`: `status <> 'banned'`. */
  whereNot<K extends Prop<M>>(property: K, value: M[K] | null): ModelQuery<M> {
    return this.#comparison('and', property, '<>', value);
  }

  /** `whereIn('id', [1, 2, 3])`; an empty list matches nothing. */
  whereIn<K extends Prop<M>>(property: K, values: readonly M[K][]): ModelQuery<M> {
    return this.#in(property, values, false);
  }

  whereNotIn<K extends Prop<M>>(property: K, values: readonly M[K][]): ModelQuery<M> {
    return this.#in(property, values, true);
  }

  #in(property: string, values: readonly unknown[], not: boolean): ModelQuery<M> {
    const column = this.#meta.column(property);
    if (!Array.isArray(values)) throw new QueryBuilderError(`where${not ? 'Not' : ''}In(${property}, …) needs an array of values`);
    values = values.map((value) => {
      if (value === null || value === undefined) throw new QueryBuilderError(`where${not ? 'Not' : ''}In(${property}, …) cannot contain null; use whereNull()`);
      return checkValue(this.#meta, column, value);
    });
    if (values.length > MAX_INLINE_LIST) {
      return this.#addWhere({ kind: 'inList', bool: 'and', column: column.column, not }, `${not ? '!' : ''}inList${column.column}`, [values], { list: column.type }).#with({ boundList: true });
    }
    // Lists are padded to a power of two by repeating the last value (same meaning), so a few statement shapes serve every list length.
    const padded = values.length === 0 ? values : [...values, ...new Array<unknown>(2 ** Math.ceil(Math.log2(values.length)) - values.length).fill(values[values.length - 1])];
    return this.#addWhere({ kind: 'in', bool: 'and', column: column.column, not, count: padded.length }, `${not ? '!' : ''}in${column.column}#${padded.length}`, padded, column.type);
  }

  whereNull<K extends Prop<M>>(property: K): ModelQuery<M> {
    return this.#comparison('and', property, '=', null);
  }

  whereNotNull<K extends Prop<M>>(property: K): ModelQuery<M> {
    return this.#comparison('and', property, '<>', null);
  }

  /**
   * A hand-written condition with `?` placeholders, for what the builder cannot say.
   * The SQL text is yours: never build it from user input; pass values as bindings.
   * A query with a raw condition runs unprepared unless `{ prepare: true }` says its
   * text repeats.
   *
   * @example
   * ```ts
   * await User.whereRaw('lower(email) = ?', [email], { prepare: true }).first()
   * ```
   */
  whereRaw(sql: string, bindings: readonly unknown[] = [], options: RawSqlOptions = {}): ModelQuery<M> {
    if (typeof sql !== 'string' || sql.trim() === '') throw new QueryBuilderError('whereRaw() needs SQL text');
    checkRawPlaceholders('whereRaw', sql, bindings);
    const query = this.#addWhere({ kind: 'raw', bool: 'and', sql, count: bindings.length }, `raw(${sql})#${bindings.length}`, bindings, 'any');
    return options?.prepare === true ? query : query.#with({ prepare: 'never' });
  }

  /**
   * Keyset condition: rows strictly after `values` in the order of `properties`, i.e.
   * `(a, b) > (x, y)` written as `a > x OR (a = x AND b > y)`. Pair it with
   * `orderBy` on the same properties to page through a table without OFFSET.
   */
  whereAfter<K extends Prop<M>>(properties: readonly K[], values: readonly unknown[]): ModelQuery<M> {
    if (!Array.isArray(properties) || properties.length === 0 || properties.length !== values?.length) {
      throw new QueryBuilderError('whereAfter() needs a non-empty list of properties and one value per property');
    }
    const columns = properties.map((p) => this.#meta.column(p));
    values = columns.map((column, i) => checkValue(this.#meta, column, values[i]));
    // A redundant leading `a >= x` lets every database start its index range at the cursor (the OR alone makes SQLite scan from the start).
    const expanded: unknown[] = [values[0]];
    const types: ResolvedType[] = [columns[0]!.type];
    for (let i = 0; i < columns.length; i++) {
      for (let j = 0; j <= i; j++) {
        expanded.push(values[j]);
        types.push(columns[j]!.type);
      }
    }
    const s = this.#state;
    return this.#with({
      key: `${s.key}&after(${columns.map((c) => c.column).join(',')});`,
      wheres: [...s.wheres, { kind: 'after', bool: 'and', columns: columns.map((c) => c.column) }],
      values: [...s.values, ...expanded],
      types: [...s.types, ...types],
    });
  }

  orderBy<K extends Prop<M>>(property: K, direction: 'asc' | 'desc' = 'asc'): ModelQuery<M> {
    const column = this.#meta.column(property);
    if (direction !== 'asc' && direction !== 'desc') throw new QueryBuilderError(`orderBy direction must be 'asc' or 'desc', got ${JSON.stringify(direction)}`);
    return this.#with({ orders: [...this.#state.orders, { column: column.column, direction }] });
  }

  limit(count: number): ModelQuery<M> {
    return this.#with({ limit: nonNegativeInteger('limit', count) });
  }

  offset(count: number): ModelQuery<M> {
    return this.#with({ offset: nonNegativeInteger('offset', count) });
  }

  /** Loads only these properties (the others stay unset on the instances). */
  select<K extends Prop<M>>(...properties: K[]): ModelQuery<M> {
    if (properties.length === 0) throw new QueryBuilderError('select() needs at least one property');
    return this.#with({ select: properties.map((p) => this.#meta.column(p)) });
  }

  /** Runs the query and hydrates model instances. */
  async all(): Promise<M[]> {
    const target = this.#target();
    const columns = this.#state.select ?? this.#meta.columns;
    const statement = this.#compile(target, 'all', (q) => q.select(columns.map((c) => c.column)));
    const { rows } = await runStatement(target, statement, this.#encodedValues(target), this.#execOptions(target));
    const hydrate = hydratorFor(this.#meta, columns);
    const name = target.connection.name;
    const out = new Array<M>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = hydrate(rows[i]!, name) as M;
    return out;
  }

  /** The first matching instance, or `null`. */
  async first(): Promise<M | null> {
    const [first] = await this.limit(1).all();
    return first ?? null;
  }

  /** Number of matching rows. */
  async count(): Promise<number> {
    const target = this.#target();
    const statement = this.#compile(target, 'count', (q) => q.clearOrder().count({ count: '*' }));
    const { rows } = await runStatement(target, statement, this.#encodedValues(target), this.#execOptions(target));
    return Number(rows[0]?.count ?? 0);
  }

  /** Whether any row matches. */
  async exists(): Promise<boolean> {
    const target = this.#target();
    const statement = this.#compile(target, 'exists', (q) => q.clearOrder().select(q.client.raw('1 as e')).limit(1));
    const { rows } = await runStatement(target, statement, this.#encodedValues(target), this.#execOptions(target));
    return rows.length > 0;
  }

  /** The values of one property, typed like the model's. */
  async pluck<K extends Prop<M>>(property: K): Promise<M[K][]> {
    const column = this.#meta.column(property);
    const target = this.#target();
    const statement = this.#compile(target, `pluck:${column.column}`, (q) => q.select(column.column));
    const { rows } = await runStatement(target, statement, this.#encodedValues(target), this.#execOptions(target));
    const decode = decoders[column.type];
    return rows.map((row) => decode(row[column.column]) as M[K]);
  }

  /**
   * Updates every matching row in one statement; resolves with the number of rows
   * changed. Runs no per-record hooks and does not touch `@UpdatedAt` unless you set it.
   */
  async update(attributes: Partial<Attributes<M>>): Promise<number> {
    this.#assertNoOrderOrPaging('update');
    const count = await this.#update(attributes);
    this.#meta.events.emit('bulk', { operation: 'update', count });
    return count;
  }

  async #update(attributes: Partial<Attributes<M>>): Promise<number> {
    const entries = Object.entries(attributes ?? {}).filter(([, v]) => v !== undefined);
    if (entries.length === 0) throw new QueryBuilderError('update() needs at least one property to set');
    const columns = entries.map(([property]) => this.#meta.column(property));
    const assigned = entries.map(([, value], i) => columnValue(this.#meta.name, columns[i]!, value));
    const target = this.#target();
    const whereCount = this.#state.values.length;
    const statement = this.#compile(target, `update:${columns.map((c) => c.column).join(',')}`, (q) =>
      q.update(Object.fromEntries(columns.map((c, i) => [c.column, slot(whereCount + i)]))),
    );
    const coarse = await coarseColumns(this.#meta, target.connection);
    const values = [...this.#encodedValues(target), ...assigned.map((value, i) => encodeFor(target, columns[i]!, fitDate(columns[i]!, value, coarse)))];
    return (await runStatement(target, statement, values, this.#execOptions(target))).affected;
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
    if (!this.#meta.deletedAt) return this.#forceDelete();
    const count = this.#state.trashed === 'only' ? 0 : await this.#with({ trashed: 'without' }).#update(this.#deletedAtValues(true));
    this.#meta.events.emit('bulk', { operation: 'delete', count, soft: true });
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
  withTrashed(): ModelQuery<M> {
    return this.#with({ trashed: 'with' });
  }

  /**
   * The query over soft-deleted rows only. A model without `@DeletedAt` raises a ModelDefinitionError.
   *
   * @example
   * ```ts
   * const bin = await Post.onlyTrashed().orderBy('deletedAt', 'desc').limit(20)
   * ```
   */
  onlyTrashed(): ModelQuery<M> {
    this.#meta.softDeleteColumn('onlyTrashed()');
    return this.#with({ trashed: 'only' });
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
    this.#meta.softDeleteColumn('restore()');
    this.#assertNoOrderOrPaging('restore');
    const count = await this.#with({ trashed: 'only' }).#update(this.#deletedAtValues(false));
    this.#meta.events.emit('bulk', { operation: 'update', count });
    return count;
  }

  /** The record with this primary key among the rows the query sees, or `null` (`Post.withTrashed().find(id)`). */
  async find(key: unknown): Promise<M | null> {
    if (key === undefined || key === null) throw new QueryBuilderError(`${this.#meta.name}.find() needs a primary key value`);
    return this.where(this.#meta.primaryKey.property as Prop<M>, key as M[Prop<M>]).first();
  }

  /** Like {@link find}, or a {@link RecordNotFoundError}. */
  async findOrFail(key: unknown): Promise<M> {
    const found = await this.find(key);
    if (!found) throw new RecordNotFoundError(this.#meta.name, key);
    return found;
  }

  /** `@DeletedAt` (now, or null) and `@UpdatedAt` (now) as update() attributes. */
  #deletedAtValues(trash: boolean): Partial<Attributes<M>> {
    const now = new Date();
    const values: Record<string, unknown> = { [this.#meta.deletedAt!.property]: trash ? now : null };
    const updatedAt = this.#meta.updatedAt;
    if (updatedAt) values[updatedAt.property] = new Date(now.getTime());
    return values as Partial<Attributes<M>>;
  }

  async #forceDelete(): Promise<number> {
    const target = this.#target();
    const statement = this.#compile(target, 'delete', (q) => q.delete());
    const count = (await runStatement(target, statement, this.#encodedValues(target), this.#execOptions(target))).affected;
    this.#meta.events.emit('bulk', { operation: 'delete', count });
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
  async *batch(size: number): AsyncGenerator<M[], void, undefined> {
    nonNegativeInteger('batch size', size);
    if (size < 1) throw new QueryBuilderError('batch size must be at least 1');
    if (this.#state.orders.length || this.#state.limit !== undefined || this.#state.offset !== undefined) {
      throw new QueryBuilderError('batch() pages by primary key: remove orderBy/limit/offset from the query');
    }
    const pk = this.#meta.primaryKey;
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

  // Lets `await query` run it, like `.all()`.
  then<R1 = M[], R2 = never>(onfulfilled?: ((value: M[]) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return this.all().then(onfulfilled, onrejected);
  }

  #target(): Target {
    return resolveTarget(this.#meta, this.#state.explicit);
  }

  #encodedValues(target: Target): unknown[] {
    const { values, types } = this.#state;
    const { codec, boundList } = target.connection.dialect;
    const out = new Array<unknown>(values.length);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      const type = types[i]!;
      if (typeof type === 'object') out[i] = boundList.bind((value as unknown[]).map((element) => encodeForType(type.list, element, codec)), LIST_ELEMENT_TYPES[type.list]);
      else out[i] = type === 'string' || type === 'integer' || type === 'float' ? value : encodeForType(type, value, codec);
    }
    return out;
  }

  #execOptions(target: Target): ExecOptions {
    const { prepare, boundList } = this.#state;
    return execOptions(this.#meta, prepare === 'never' || (boundList && target.connection.dialect.boundList.unprepared) ? 'never' : 'auto');
  }

  #assertNoOrderOrPaging(operation: string): void {
    if (this.#state.orders.length || this.#state.limit !== undefined || this.#state.offset !== undefined) {
      throw new QueryBuilderError(`${operation}() applies to every matching row: remove orderBy/limit/offset`);
    }
  }

  #compile(target: Target, mode: string, finish: (q: Knex.QueryBuilder) => Knex.QueryBuilder): ReturnType<typeof compiled> {
    const s = this.#state;
    const select = s.select ? s.select.map((c) => c.column).join(',') : '*';
    // The soft-delete scope, when the model has one and the query did not lift it.
    const deletedAt = s.trashed === 'with' ? undefined : this.#meta.deletedAt;
    const key = `${mode}|${s.key}|o${s.orders.map((o) => `${o.column} ${o.direction}`).join(',')}|l${s.limit ?? ''}|f${s.offset ?? ''}|s${select}${deletedAt ? `|t${s.trashed}` : ''}`;
    return compiled(this.#meta, target.connection, key, (knex) => {
      let q = knex(this.#meta.tableName);
      const { boundList } = target.connection.dialect;
      if (deletedAt) {
        // The caller's conditions are one group, so an orWhere cannot reach past the scope: (a OR b) AND deleted_at IS NULL.
        if (s.wheres.length > 0) q.where((group) => applyWheres(group, s.wheres, boundList));
        if (s.trashed === 'only') q.whereNotNull(deletedAt.column);
        else q.whereNull(deletedAt.column);
      } else applyWheres(q, s.wheres, boundList);
      for (const order of s.orders) q = q.orderBy(order.column, order.direction);
      if (s.limit !== undefined) q = q.limit(s.limit);
      if (s.offset !== undefined) q = q.offset(s.offset);
      return finish(q);
    });
  }
}

function applyWheres(q: Knex.QueryBuilder, nodes: readonly WhereNode[], boundList: BoundList): void {
  let index = 0;
  for (const node of nodes) index = applyWhere(q, node, index, boundList);
}

function applyWhere(q: Knex.QueryBuilder, node: WhereNode, index: number, boundList: BoundList): number {
  const or = node.bool === 'or';
  switch (node.kind) {
    case 'op':
      if (or) q.orWhere(node.column, node.op, slot(index));
      else q.where(node.column, node.op, slot(index));
      return index + 1;
    case 'null':
      if (or) (node.not ? q.orWhereNotNull(node.column) : q.orWhereNull(node.column));
      else node.not ? q.whereNotNull(node.column) : q.whereNull(node.column);
      return index;
    case 'in': {
      const slots = Array.from({ length: node.count }, (_, i) => slot(index + i));
      if (node.not) q.whereNotIn(node.column, slots);
      else q.whereIn(node.column, slots);
      return index + node.count;
    }
    case 'inList':
      q.whereRaw(boundList.condition(node.not), [node.column, slot(index)]);
      return index + 1;
    case 'raw': {
      const slots = Array.from({ length: node.count }, (_, i) => slot(index + i));
      if (or) q.orWhereRaw(node.sql, slots);
      else q.whereRaw(node.sql, slots);
      return index + node.count;
    }
    case 'after': {
      q.where(node.columns[0]!, '>=', slot(index));
      // knex runs grouping callbacks when it compiles, after this loop: their slots are fixed now.
      const first = index + 1;
      const group = function (this: Knex.QueryBuilder) {
        let next = first;
        node.columns.forEach((column, i) => {
          this.orWhere(function (this: Knex.QueryBuilder) {
            for (let j = 0; j < i; j++) this.where(node.columns[j]!, slot(next++));
            this.where(column, '>', slot(next++));
          });
        });
      };
      if (or) q.orWhere(group);
      else q.where(group);
      return index + slotCount(node);
    }
    case 'group': {
      const group = function (this: Knex.QueryBuilder) {
        let next = index;
        for (const child of node.nodes) next = applyWhere(this, child, next, boundList);
      };
      if (or) q.orWhere(group);
      else q.where(group);
      return index + slotCount(node);
    }
  }
}

/** How many bound values a condition takes. */
function slotCount(node: WhereNode): number {
  switch (node.kind) {
    case 'op':
    case 'inList':
      return 1;
    case 'null':
      return 0;
    case 'in':
    case 'raw':
      return node.count;
    case 'after':
      return 1 + (node.columns.length * (node.columns.length + 1)) / 2;
    case 'group':
      return node.nodes.reduce((sum, child) => sum + slotCount(child), 0);
  }
}

/**
 * Every `?` of hand-written SQL is a placeholder, including one inside a quoted literal;
 * `\\?` writes a literal question mark (`??` is knex's identifier placeholder). A count
 * that does not match the bindings is refused here with that explanation, instead of a
 * bare knex error (or, worse, values bound in the wrong places).
 */
export function checkRawPlaceholders(method: string, sql: string, bindings: readonly unknown[]): void {
  if (!Array.isArray(bindings)) throw new QueryBuilderError(`${method}() takes its values as an array`);
  let placeholders = 0;
  for (let i = 0; i < sql.length; i++) {
    if (sql[i] === '\\' && sql[i + 1] === '?') i++;
    else if (sql[i] === '?') {
      placeholders++;
      if (sql[i + 1] === '?') i++;
    }
  }
  if (placeholders !== bindings.length) {
    throw new QueryBuilderError(
      `${method}(): the SQL has ${placeholders} ? placeholder(s) but ${bindings.length} value(s) were given. A ? inside a quoted literal is a placeholder too: bind the literal as a value, or write \\? for a literal question mark (in a JS string: "name <> '\\\\?'").`,
    );
  }
}

/** A where value as its column holds it (see {@link columnValue}); a list is pointed to whereIn(). */
function checkValue(meta: ModelMeta, column: ColumnMeta, value: unknown): unknown {
  if (value === undefined) throw new QueryBuilderError(`the value for ${column.property} is undefined; use null to match NULL`);
  if (Array.isArray(value) && column.type !== 'json' && column.type !== 'any') throw new QueryBuilderError(`the value for ${column.property} must be a scalar; use whereIn() for a list`);
  return columnValue(meta.name, column, value);
}

function nonNegativeInteger(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new QueryBuilderError(`${what} must be a non-negative integer, got ${String(value)}`);
  return value;
}
