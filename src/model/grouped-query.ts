import type { Knex } from 'knex';
import { QueryBuilderError } from '../errors.js';
import { aggregateExpression, aggregateSql, resolveAggregate, type Aggregate, type AggregateFn, type AggregateValue, type ResolvedAggregate } from './aggregates.js';
import { decoders, type ResolvedType } from '../connection/column-codecs.js';
import type { ColumnMeta, ModelMeta } from './metadata.js';
import { compiled, slot, type CompiledStatement } from './statement-compiler.js';
import { conditionsBuilder, encodeValues, readOptionsFor, nonNegativeInteger, statementText, targetFor, type QueryState, type StatementText } from './query-state.js';
import { resolveTarget, runStatement, type Target } from './target.js';
import type { Prop } from './types.js';
import { checkValue, type ValueType } from './where-nodes.js';

/** Operators of `having()`. */
const HAVING_OPERATORS = ['=', '!=', '<>', '<', '<=', '>', '>='] as const;
type HavingOperator = (typeof HAVING_OPERATORS)[number];

/** Aggregate aliases become SQL identifiers and row keys: plain names, within PostgreSQL's 63-character limit. */
const ALIAS = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A row of a grouped query: the grouped properties and the aggregates, typed by the decoding rule. */
export type GroupedRow<M, G extends keyof M, A> = { [K in G]: M[K] } & { [K in keyof A]: AggregateValue<M, A[K]> };

interface NamedAggregate extends ResolvedAggregate {
  readonly alias: string;
}

interface GroupState {
  readonly aggregates: readonly NamedAggregate[];
  /** Having conditions: the SQL (knex raw syntax, `?` its value) and its key. */
  readonly havings: readonly { readonly sql: string; readonly identifiers: readonly string[]; readonly op: HavingOperator }[];
  readonly values: readonly unknown[];
  readonly types: readonly ValueType[];
  readonly orders: readonly { readonly name: string; readonly direction: 'asc' | 'desc' }[];
  readonly limit: number | undefined;
  readonly offset: number | undefined;
  readonly key: string;
}

/**
 * A model query grouped by some properties (`query.groupBy(...)`): immutable like the
 * query, and awaitable. It resolves with plain rows holding the grouped properties and
 * the aggregates named in `aggregate()`, decoded alike on every dialect.
 *
 * @example
 * ```ts
 * const rows = await Order.where('status', 'paid').groupBy('customerId')
 *   .aggregate({ revenue: sum('total'), orders: count() })
 *   .having('revenue', '>', 100)
 *   .orderBy('revenue', 'desc')
 * ```
 */
export class GroupedQuery<M extends object, G extends Prop<M>, A extends Record<string, Aggregate>> implements Promise<GroupedRow<M, G, A>[]> {
  readonly #meta: ModelMeta;
  readonly #base: QueryState;
  readonly #groups: readonly ColumnMeta[];
  readonly #state: GroupState;

  /** @internal Use `query.groupBy()`. */
  constructor(meta: ModelMeta, base: QueryState, groups: readonly ColumnMeta[], state?: GroupState) {
    this.#meta = meta;
    this.#base = base;
    this.#groups = groups;
    this.#state = state ?? { aggregates: [], havings: [], values: [], types: [], orders: [], limit: undefined, offset: undefined, key: '' };
  }

  #with<A2 extends Record<string, Aggregate> = A>(patch: Partial<GroupState>): GroupedQuery<M, G, A2> {
    return new GroupedQuery<M, G, A2>(this.#meta, this.#base, this.#groups, { ...this.#state, ...patch });
  }

  /**
   * Adds aggregates, each under its name in the result rows: `sum`, `avg`, `min`, `max`,
   * `count`, `countDistinct` (exported helpers).
   */
  aggregate<B extends Record<string, Aggregate<AggregateFn, Prop<M> | undefined>>>(aggregates: B): GroupedQuery<M, G, A & B> {
    if (aggregates === null || typeof aggregates !== 'object') throw new QueryBuilderError('aggregate() takes an object of { name: sum("property"), ... }');
    const added: NamedAggregate[] = [];
    for (const [alias, spec] of Object.entries(aggregates)) {
      if (!ALIAS.test(alias)) throw new QueryBuilderError(`aggregate name ${JSON.stringify(alias)} must be letters, digits and _ (not starting with a digit), at most 63 characters`);
      if (this.#groups.some((c) => c.property === alias) || this.#state.aggregates.some((a) => a.alias === alias)) throw new QueryBuilderError(`aggregate name ${JSON.stringify(alias)} is already a name in the result rows`);
      added.push({ ...resolveAggregate(this.#meta, spec), alias });
    }
    return this.#with<A & B>({
      aggregates: [...this.#state.aggregates, ...added],
      key: `${this.#state.key}a${added.map((a) => `${a.alias}=${a.fn}(${a.column?.column ?? '*'})`).join(',')};`,
    });
  }

  /**
   * Keeps the groups where an aggregate (by its name) or a grouped property compares
   * true with `value`: `having('revenue', '>', 100)`.
   */
  having<N extends G | (keyof A & string)>(name: N, operator: HavingOperator, value: unknown): GroupedQuery<M, G, A> {
    if (!HAVING_OPERATORS.includes(operator)) throw new QueryBuilderError(`unknown having() operator ${JSON.stringify(operator)}; use one of ${HAVING_OPERATORS.join(', ')}`);
    if (value === null || value === undefined) throw new QueryBuilderError(`having(${name}, …) needs a value; NULL compares as unknown`);
    const aggregate = this.#state.aggregates.find((a) => a.alias === name);
    let sql: string;
    let identifiers: string[];
    let type: ResolvedType;
    if (aggregate) {
      // PostgreSQL does not see output names in HAVING: the expression is repeated.
      ({ sql, identifiers } = aggregateSql(aggregate));
      type = aggregate.valueType;
      value = checkValue(this.#meta.name, { property: name, type }, value);
    } else {
      const column = this.#groupColumn(name, 'having');
      value = checkValue(this.#meta.name, column, value);
      sql = '??';
      identifiers = [column.column];
      type = column.type;
    }
    return this.#with({
      havings: [...this.#state.havings, { sql, identifiers, op: operator }],
      values: [...this.#state.values, value],
      types: [...this.#state.types, type],
      key: `${this.#state.key}h${sql}:${identifiers.join(',')}${operator};`,
    });
  }

  /** Orders the rows by an aggregate (by its name) or a grouped property. */
  orderBy<N extends G | (keyof A & string)>(name: N, direction: 'asc' | 'desc' = 'asc'): GroupedQuery<M, G, A> {
    if (direction !== 'asc' && direction !== 'desc') throw new QueryBuilderError(`orderBy direction must be 'asc' or 'desc', got ${JSON.stringify(direction)}`);
    // An aggregate is ordered by its output name (every dialect allows that in ORDER BY), a grouped property by its column.
    const orderName = this.#state.aggregates.some((a) => a.alias === name) ? name : this.#groupColumn(name, 'orderBy').column;
    return this.#with({ orders: [...this.#state.orders, { name: orderName, direction }], key: `${this.#state.key}o${orderName} ${direction};` });
  }

  limit(count: number): GroupedQuery<M, G, A> {
    return this.#with({ limit: nonNegativeInteger('limit', count) });
  }

  offset(count: number): GroupedQuery<M, G, A> {
    return this.#with({ offset: nonNegativeInteger('offset', count) });
  }

  /** Runs the query: one plain row per group. */
  async all(): Promise<GroupedRow<M, G, A>[]> {
    const target = targetFor(this.#meta, this.#base);
    const { rows } = await runStatement(target, this.#statement(target), this.#encodedValues(target), readOptionsFor(this.#meta, this.#base, target));
    const groups = this.#groups;
    const aggregates = this.#state.aggregates;
    return rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const column of groups) out[column.property] = decoders[column.type](row[column.property] ?? null);
      for (const aggregate of aggregates) out[aggregate.alias] = aggregate.decode(row[aggregate.alias] ?? null);
      return out as GroupedRow<M, G, A>;
    });
  }

  /** The statement awaiting this query would run, with its bindings encoded as sent (see `ModelQuery.toSQL`). */
  toSQL(): StatementText {
    const target = resolveTarget(this.#meta, this.#base.explicit);
    return statementText(this.#statement(target), this.#encodedValues(target));
  }

  then<R1 = GroupedRow<M, G, A>[], R2 = never>(onfulfilled?: ((value: GroupedRow<M, G, A>[]) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return this.all().then(onfulfilled, onrejected);
  }

  catch<R2 = never>(onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<GroupedRow<M, G, A>[] | R2> {
    return this.all().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<GroupedRow<M, G, A>[]> {
    return this.all().finally(onfinally);
  }

  get [Symbol.toStringTag](): string {
    return 'GroupedQuery';
  }

  #groupColumn(name: string, method: string): ColumnMeta {
    const column = this.#groups.find((c) => c.property === name);
    if (column === undefined) {
      const names = [...this.#groups.map((c) => c.property), ...this.#state.aggregates.map((a) => a.alias)];
      throw new QueryBuilderError(`${method}(${JSON.stringify(name)}): not a grouped property or aggregate name; use one of ${names.join(', ')}`);
    }
    return column;
  }

  #encodedValues(target: Target): unknown[] {
    const dialect = target.connection.dialect;
    return [...encodeValues(this.#base.values, this.#base.types, dialect), ...encodeValues(this.#state.values, this.#state.types, dialect)];
  }

  #statement(target: Target): CompiledStatement {
    const s = this.#state;
    const key = `group|${this.#base.key}|g${this.#groups.map((c) => c.column).join(',')}|${s.key}|l${s.limit ?? ''}|f${s.offset ?? ''}`;
    return compiled(this.#meta, target.connection, key, (knex) => {
      const q = conditionsBuilder(knex, this.#meta, this.#base, target.connection.dialect);
      const selects: Array<string | Knex.Raw> = this.#groups.map((c) => `${c.column} as ${c.property}`);
      for (const aggregate of s.aggregates) selects.push(aggregateExpression(knex, aggregate, aggregate.alias));
      q.select(selects).groupBy(this.#groups.map((c) => c.column));
      let index = this.#base.values.length;
      for (const having of s.havings) q.havingRaw(`${having.sql} ${having.op} ?`, [...having.identifiers, slot(index++)]);
      for (const order of s.orders) q.orderBy(order.name, order.direction);
      if (s.limit !== undefined) q.limit(s.limit);
      if (s.offset !== undefined) q.offset(s.offset);
      return q;
    });
  }
}
