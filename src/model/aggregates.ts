import type { Knex } from 'knex';
import { QueryBuilderError } from '../errors.js';
import { decoders, type ResolvedType } from '../connection/column-codecs.js';
import type { ColumnMeta, ModelMeta } from './metadata.js';

export type AggregateFn = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'countDistinct';

/** An aggregate over a property (or over rows, for `count()`), for `groupBy(...).aggregate({ alias: ... })`. */
export interface Aggregate<F extends AggregateFn = AggregateFn, P extends string | undefined = string | undefined> {
  readonly fn: F;
  readonly property: P;
}

/**
 * The JS type an aggregate resolves with (the decoding rule, the same on every dialect):
 * `count` and `countDistinct` a number (0 for no rows); `avg` a number; `sum` a bigint
 * over a bigint column, else a number; `min`/`max` the column's own JS type. Over no
 * rows (or only NULLs) `sum`, `avg`, `min` and `max` are `null`.
 */
export type AggregateValue<M, A> =
  A extends Aggregate<'count' | 'countDistinct', string | undefined>
    ? number
    : A extends Aggregate<'avg', string | undefined>
      ? number | null
      : A extends Aggregate<'sum', infer P>
        ? (P extends keyof M ? (NonNullable<M[P]> extends bigint ? bigint : number) : number) | null
        : A extends Aggregate<'min' | 'max', infer P>
          ? (P extends keyof M ? NonNullable<M[P]> : unknown) | null
          : never;

/**
 * The sum of a numeric property.
 *
 * @example
 * ```ts
 * await Order.query().groupBy('customerId').aggregate({ revenue: sum('total') })
 * ```
 */
export function sum<P extends string>(property: P): Aggregate<'sum', P> {
  return { fn: 'sum', property };
}

/** The average of a numeric property; see {@link sum}. */
export function avg<P extends string>(property: P): Aggregate<'avg', P> {
  return { fn: 'avg', property };
}

/** The smallest value of a property; see {@link sum}. */
export function min<P extends string>(property: P): Aggregate<'min', P> {
  return { fn: 'min', property };
}

/** The largest value of a property; see {@link sum}. */
export function max<P extends string>(property: P): Aggregate<'max', P> {
  return { fn: 'max', property };
}

/** The number of rows, or (with a property) of rows where it is not NULL; see {@link sum}. */
export function count(): Aggregate<'count', undefined>;
export function count<P extends string>(property: P): Aggregate<'count', P>;
export function count(property?: string): Aggregate<'count', string | undefined> {
  return { fn: 'count', property };
}

/** The number of distinct non-NULL values of a property; see {@link sum}. */
export function countDistinct<P extends string>(property: P): Aggregate<'countDistinct', P> {
  return { fn: 'countDistinct', property };
}

/** An aggregate checked against a model: its column, how its result decodes, and how a value compared with it encodes. */
export interface ResolvedAggregate {
  readonly fn: AggregateFn;
  readonly column: ColumnMeta | undefined;
  readonly decode: (value: unknown) => unknown;
  readonly valueType: ResolvedType;
}

const AGGREGATE_FNS: readonly AggregateFn[] = ['sum', 'avg', 'min', 'max', 'count', 'countDistinct'];
const NUMERIC: readonly ResolvedType[] = ['integer', 'float', 'bigint', 'any'];

const toCount = (value: unknown) => (value === null || value === undefined ? 0 : Number(value));
// PostgreSQL returns numeric (sum of integers, avg) as text and MySQL DECIMAL as text: both decode to numbers here.
const toNumber = (value: unknown) => (value === null || value === undefined ? null : Number(value));
const toBigint = (value: unknown) => (value === null || value === undefined ? null : BigInt(value as string | number | bigint));

/** Checks an aggregate against the model's columns and types; refuses (before SQL) what a dialect could not compute alike. */
export function resolveAggregate(meta: ModelMeta, aggregate: Aggregate): ResolvedAggregate {
  const fn = aggregate?.fn;
  if (!AGGREGATE_FNS.includes(fn)) throw new QueryBuilderError(`not an aggregate: ${JSON.stringify(aggregate)}; use sum(), avg(), min(), max(), count() or countDistinct()`);
  if (fn === 'count' && aggregate.property === undefined) return { fn, column: undefined, decode: toCount, valueType: 'integer' };
  if (typeof aggregate.property !== 'string') throw new QueryBuilderError(`${fn}() needs a property name`);
  const column = meta.column(aggregate.property);
  switch (fn) {
    case 'count':
    case 'countDistinct':
      return { fn, column, decode: toCount, valueType: 'integer' };
    case 'sum':
    case 'avg':
      if (!NUMERIC.includes(column.type)) throw new QueryBuilderError(`${fn}(${column.property}) needs a numeric column; ${column.property} is ${column.type}`);
      if (fn === 'sum' && column.type === 'bigint') return { fn, column, decode: toBigint, valueType: 'bigint' };
      return { fn, column, decode: toNumber, valueType: 'float' };
    case 'min':
    case 'max':
      // PostgreSQL has no min/max of boolean or json.
      if (column.type === 'boolean' || column.type === 'json') throw new QueryBuilderError(`${fn}(${column.property}) is not computed alike on every database for a ${column.type} column`);
      return { fn, column, decode: decoders[column.type], valueType: column.type };
  }
}

/** The aggregate's SQL expression in knex raw syntax (standard on all three dialects), `??` its column. */
export function aggregateSql(aggregate: ResolvedAggregate): { sql: string; identifiers: string[] } {
  if (aggregate.column === undefined) return { sql: 'count(*)', identifiers: [] };
  return { sql: aggregate.fn === 'countDistinct' ? 'count(distinct ??)' : `${aggregate.fn}(??)`, identifiers: [aggregate.column.column] };
}

/** The aggregate as a select expression named `alias`. */
export function aggregateExpression(knex: Knex, aggregate: ResolvedAggregate, alias: string): Knex.Raw {
  const { sql, identifiers } = aggregateSql(aggregate);
  return knex.raw(`${sql} as ??`, [...identifiers, alias]);
}
