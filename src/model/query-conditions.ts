import { QueryBuilderError } from '../errors.js';
import type { ResolvedType } from '../connection/column-codecs.js';
import type { ModelMeta } from './metadata.js';
import { emptyState, type QueryState } from './query-state.js';
import type { Attributes, Prop } from './types.js';
import { checkRawPlaceholders, checkValue, OPERATORS, type Bool, type Operator, type ValueType, type WhereNode } from './where-nodes.js';

/**
 * Longer `whereIn` lists are bound as one value (an array, or JSON the database reads as
 * a table): one statement shape for any length, far from every placeholder limit. Shorter
 * ones get a placeholder each, padded to a power of two (11 shapes at most).
 */
const MAX_INLINE_LIST = 1_024;

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

/** A callback adding a group of conditions to the empty query it is given, and returning it. */
export type ConditionGroup<Q> = (query: Q) => QueryConditions<object>;

/**
 * The WHERE part of a model query: the condition methods every `ModelQuery` has. Each
 * returns a new query; the conditions' shape is the compiled-statement cache key.
 */
export abstract class QueryConditions<M extends object> {
  /** @internal */
  protected readonly meta: ModelMeta;
  /** @internal */
  protected readonly state: QueryState;

  protected constructor(meta: ModelMeta, state: QueryState) {
    this.meta = meta;
    this.state = state;
  }

  /** @internal A query of the same kind with this state. */
  protected abstract withState(state: QueryState): this;

  /** @internal */
  protected with(patch: Partial<QueryState>): this {
    return this.withState({ ...this.state, ...patch });
  }

  #addWhere(node: WhereNode, keyPart: string, values: readonly unknown[], type: ValueType): this {
    const s = this.state;
    return this.with({
      key: `${s.key}${node.bool === 'or' ? '|' : '&'}${keyPart};`,
      wheres: [...s.wheres, node],
      values: values.length ? [...s.values, ...values] : s.values,
      types: values.length ? [...s.types, ...values.map(() => type)] : s.types,
    });
  }

  /**
   * `where({ status: 'active', deletedAt: null })`, `where('score', 10)`, `where('score', '>', 10)`,
   * or a group in parentheses: `where((q) => q.where('a', 1).orWhere('b', 2))`.
   *
   * @example
   * ```ts
   * await User.where('active', true).where((q) => q.where('role', 'admin').orWhere('score', '>', 90))
   * ```
   */
  where(group: ConditionGroup<this>): this;
  where(conditions: Partial<Attributes<M>>): this;
  where<K extends Prop<M>>(property: K, value: M[K] | null): this;
  where<K extends Prop<M>>(property: K, operator: Operator, value: M[K] | null): this;
  where(...args: unknown[]): this {
    return this.#where('and', args);
  }

  /** Like {@link where}, joined with OR; `orWhere((q) => ...)` ORs a group in parentheses. */
  orWhere(group: ConditionGroup<this>): this;
  orWhere(conditions: Partial<Attributes<M>>): this;
  orWhere<K extends Prop<M>>(property: K, value: M[K] | null): this;
  orWhere<K extends Prop<M>>(property: K, operator: Operator, value: M[K] | null): this;
  orWhere(...args: unknown[]): this {
    return this.#where('or', args);
  }

  #where(bool: Bool, args: unknown[]): this {
    if (args.length === 1) {
      const conditions = args[0];
      if (typeof conditions === 'function') return this.#group(bool, false, conditions as ConditionGroup<this>);
      if (conditions === null || typeof conditions !== 'object' || Array.isArray(conditions)) throw new QueryBuilderError('where() takes an object of { property: value }, a (query) => query callback, or (property, value), or (property, operator, value)');
      const entries = Object.entries(conditions);
      // `orWhere({ a, b })` means `OR (a AND b)`, as in knex and Lucid: the object's conditions hold together.
      if (bool === 'or' && entries.length > 1) return this.#group('or', false, (q) => entries.reduce((inner, [property, value]) => inner.#comparison('and', property, '=', value), q));
      let query = this;
      for (const [property, value] of entries) query = query.#comparison(bool, property, '=', value);
      return query;
    }
    if (args.length === 2) return this.#comparison(bool, args[0] as string, '=', args[1]);
    if (args.length === 3) return this.#comparison(bool, args[0] as string, args[1] as Operator, args[2]);
    throw new QueryBuilderError(`where() takes 1 to 3 arguments, got ${args.length}`);
  }

  /** The conditions `build` adds to an empty query, as one parenthesized condition (`NOT (…)` when `not`). */
  #group(bool: Bool, not: boolean, build: ConditionGroup<this>): this {
    const inner = build(this.withState(emptyState(undefined)));
    if (!(inner instanceof QueryConditions)) throw new QueryBuilderError('a condition group callback must return the query it was given, with conditions added: (q) => q.where(...)');
    const i = inner.state;
    if (inner.meta !== this.meta || i.orders.length || i.limit !== undefined || i.offset !== undefined || i.select || i.distinct || i.lock) {
      throw new QueryBuilderError('a condition group may only add conditions (where, orWhere, whereIn, ...) to the query it was given');
    }
    // No condition in the group: nothing to add (as in knex).
    if (i.wheres.length === 0) return this;
    const s = this.state;
    return this.with({
      key: `${s.key}${bool === 'or' ? '|' : '&'}${not ? '!' : ''}(${i.key});`,
      wheres: [...s.wheres, { kind: 'group', bool, not, nodes: i.wheres }],
      values: [...s.values, ...i.values],
      types: [...s.types, ...i.types],
      prepare: i.prepare === 'never' ? 'never' : s.prepare,
      boundList: s.boundList || i.boundList,
    });
  }

  #comparison(bool: Bool, property: string, operator: Operator, value: unknown): this {
    const column = this.meta.column(property);
    if (!OPERATORS.includes(operator)) throw new QueryBuilderError(`unknown operator ${JSON.stringify(operator)}; use one of ${OPERATORS.join(', ')}`);
    if (value === null) {
      if (operator !== '=' && operator !== '!=' && operator !== '<>') throw new QueryBuilderError(`cannot compare ${property} ${operator} null`);
      return this.#addWhere({ kind: 'null', bool, column: column.column, not: operator !== '=' }, `n${operator === '=' ? '' : '!'}${column.column}`, [], column.type);
    }
    return this.#addWhere({ kind: 'op', bool, column: column.column, op: operator }, `${column.column}${operator}`, [checkValue(this.meta.name, column, value)], column.type);
  }

  /**
   * `whereNot('status', 'banned')`: `status <> 'banned'`; `whereNot((q) => ...)`: `NOT (group)`.
   *
   * @example
   * ```ts
   * await User.whereNot((q) => q.where('role', 'guest').where('score', '<', 10))
   * ```
   */
  whereNot(group: ConditionGroup<this>): this;
  whereNot<K extends Prop<M>>(property: K, value: M[K] | null): this;
  whereNot(property: string | ConditionGroup<this>, value?: unknown): this {
    if (typeof property === 'function') return this.#group('and', true, property);
    return this.#comparison('and', property, '<>', value);
  }

  /** `whereIn('id', [1, 2, 3])`; an empty list matches nothing. */
  whereIn<K extends Prop<M>>(property: K, values: readonly M[K][]): this {
    return this.#in(property, values, false);
  }

  whereNotIn<K extends Prop<M>>(property: K, values: readonly M[K][]): this {
    return this.#in(property, values, true);
  }

  #in(property: string, values: readonly unknown[], not: boolean): this {
    const column = this.meta.column(property);
    if (!Array.isArray(values)) throw new QueryBuilderError(`where${not ? 'Not' : ''}In(${property}, …) needs an array of values`);
    // Read once: a model's name is its class's name, an accessor V8 does not inline (a preload's list holds thousands of keys).
    const model = this.meta.name;
    values = values.map((value) => {
      if (value === null || value === undefined) throw new QueryBuilderError(`where${not ? 'Not' : ''}In(${property}, …) cannot contain null; use whereNull()`);
      return checkValue(model, column, value);
    });
    if (values.length > MAX_INLINE_LIST) {
      return this.#addWhere({ kind: 'inList', bool: 'and', column: column.column, not }, `${not ? '!' : ''}inList${column.column}`, [values], { list: column.type }).with({ boundList: true });
    }
    // Lists are padded to a power of two by repeating the last value (same meaning), so a few statement shapes serve every list length.
    const padded = values.length === 0 ? values : [...values, ...new Array<unknown>(2 ** Math.ceil(Math.log2(values.length)) - values.length).fill(values[values.length - 1])];
    return this.#addWhere({ kind: 'in', bool: 'and', column: column.column, not, count: padded.length }, `${not ? '!' : ''}in${column.column}#${padded.length}`, padded, column.type);
  }

  whereNull<K extends Prop<M>>(property: K): this {
    return this.#comparison('and', property, '=', null);
  }

  whereNotNull<K extends Prop<M>>(property: K): this {
    return this.#comparison('and', property, '<>', null);
  }

  /**
   * `lo <= property <= hi` (both ends included).
   *
   * @example
   * ```ts
   * await Order.whereBetween('placedAt', [monthStart, monthEnd])
   * ```
   */
  whereBetween<K extends Prop<M>>(property: K, range: readonly [M[K], M[K]]): this {
    return this.#between(property, range, false);
  }

  /** Rows whose property is outside `[lo, hi]`; see {@link whereBetween}. */
  whereNotBetween<K extends Prop<M>>(property: K, range: readonly [M[K], M[K]]): this {
    return this.#between(property, range, true);
  }

  #between(property: string, range: readonly unknown[], not: boolean): this {
    const column = this.meta.column(property);
    const method = `where${not ? 'Not' : ''}Between`;
    if (!Array.isArray(range) || range.length !== 2) throw new QueryBuilderError(`${method}(${property}, …) needs a [low, high] pair`);
    range = range.map((value) => {
      if (value === null) throw new QueryBuilderError(`${method}(${property}, …) cannot take null bounds`);
      return checkValue(this.meta.name, column, value);
    });
    return this.#addWhere({ kind: 'between', bool: 'and', column: column.column, not }, `${not ? '!' : ''}between(${column.column})`, range, column.type);
  }

  /**
   * A case-sensitive LIKE on every dialect: `%` matches any run of characters, `_` one
   * character, and a backslash makes the next character literal (`'100\\%'`).
   *
   * @example
   * ```ts
   * await User.whereLike('email', '%@example.com')
   * ```
   */
  whereLike<K extends Prop<M>>(property: K, pattern: string): this {
    return this.#like(property, pattern, false);
  }

  /** A case-insensitive LIKE on every dialect (SQLite folds ASCII letters only); see {@link whereLike}. */
  whereILike<K extends Prop<M>>(property: K, pattern: string): this {
    return this.#like(property, pattern, true);
  }

  #like(property: string, pattern: string, insensitive: boolean): this {
    const column = this.meta.column(property);
    const method = insensitive ? 'whereILike' : 'whereLike';
    if (column.type !== 'string' && column.type !== 'any') throw new QueryBuilderError(`${method}(${property}, …) needs a string column; ${property} is ${column.type}`);
    checkValue(this.meta.name, column, pattern);
    if (typeof pattern !== 'string') throw new QueryBuilderError(`${method}(${property}, …) needs a string pattern`);
    if (/(^|[^\\])(\\\\)*\\$/.test(pattern)) throw new QueryBuilderError(`${method}(${property}, …): the pattern ends with an escaping backslash; write \\\\ for a literal one`);
    return this.#addWhere({ kind: 'like', bool: 'and', column: column.column, insensitive }, `${insensitive ? 'ilike' : 'like'}(${column.column})`, [pattern], { like: insensitive });
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
  whereRaw(sql: string, bindings: readonly unknown[] = [], options: RawSqlOptions = {}): this {
    if (typeof sql !== 'string' || sql.trim() === '') throw new QueryBuilderError('whereRaw() needs SQL text');
    checkRawPlaceholders('whereRaw', sql, bindings);
    const query = this.#addWhere({ kind: 'raw', bool: 'and', sql, count: bindings.length }, `raw(${sql})#${bindings.length}`, bindings, 'any');
    return options?.prepare === true ? query : query.with({ prepare: 'never' });
  }

  /**
   * Keyset condition: rows strictly after `values` in the order of `properties`, i.e.
   * `(a, b) > (x, y)` written as `a > x OR (a = x AND b > y)`. Pair it with
   * `orderBy` on the same properties to page through a table without OFFSET.
   */
  whereAfter<K extends Prop<M>>(properties: readonly K[], values: readonly unknown[]): this {
    if (!Array.isArray(properties) || properties.length === 0 || properties.length !== values?.length) {
      throw new QueryBuilderError('whereAfter() needs a non-empty list of properties and one value per property');
    }
    const columns = properties.map((p) => this.meta.column(p));
    values = columns.map((column, i) => checkValue(this.meta.name, column, values[i]));
    // A redundant leading `a >= x` lets every database start its index range at the cursor (the OR alone makes SQLite scan from the start).
    const expanded: unknown[] = [values[0]];
    const types: ResolvedType[] = [columns[0]!.type];
    for (let i = 0; i < columns.length; i++) {
      for (let j = 0; j <= i; j++) {
        expanded.push(values[j]);
        types.push(columns[j]!.type);
      }
    }
    const s = this.state;
    return this.with({
      key: `${s.key}&after(${columns.map((c) => c.column).join(',')});`,
      wheres: [...s.wheres, { kind: 'after', bool: 'and', columns: columns.map((c) => c.column) }],
      values: [...s.values, ...expanded],
      types: [...s.types, ...types],
    });
  }
}
