import type { Knex } from 'knex';
import type { DialectAdapter, ExecOptions, ListElementType, PreparePolicy, RowLock } from '../connection/dialects/dialect.js';
import { QueryBuilderError, TransactionError } from '../errors.js';
import { encodeValue, type ResolvedType } from '../connection/column-codecs.js';
import type { ColumnMeta, ModelMeta, TrashedScope } from './metadata.js';
import { bindingsFor, type CompiledStatement } from './statement-compiler.js';
import { execOptions, resolveTarget, type Target } from './target.js';
import { applyWhere, type ValueType, type WhereNode } from './where-nodes.js';
import type { RelationWork } from './relations/relation-work.js';

/** What a model query says, shared by `ModelQuery` and the grouped queries built on it. */
export interface QueryState {
  readonly explicit: string | undefined;
  /** Reads go to the primary, never a replica (`Model.using(name, { role: 'primary' })`). */
  readonly primary: boolean;
  /** `idempotent()`: the query's update or delete may run again if its session is lost. */
  readonly idempotent: boolean;
  /** Shape of the WHERE part: the compiled-statement cache key. */
  readonly key: string;
  readonly wheres: readonly WhereNode[];
  readonly values: readonly unknown[];
  readonly types: readonly ValueType[];
  readonly orders: readonly { column: string; direction: 'asc' | 'desc' }[];
  readonly limit: number | undefined;
  readonly offset: number | undefined;
  readonly select: readonly ColumnMeta[] | undefined;
  readonly distinct: boolean;
  readonly lock: RowLock | undefined;
  /** `'never'` once a raw fragment whose caller did not ask for preparing is part of the text. */
  readonly prepare: PreparePolicy;
  /** A long `whereIn` list is bound as one value (where the dialect writes it into the text, the query runs unprepared). */
  readonly boundList: boolean;
  /** Soft-deleting models: which rows the query sees (`'without'` the soft-deleted ones unless asked). */
  readonly trashed: TrashedScope;
  /** Preloads, counts and relation filters (`preload`, `withCount`, `whereHas`); undefined when none. */
  readonly relations: RelationWork | undefined;
}

export function emptyState(explicit: string | undefined, primary = false): QueryState {
  return { explicit, primary, idempotent: false, key: '', wheres: [], values: [], types: [], orders: [], limit: undefined, offset: undefined, select: undefined, distinct: false, lock: undefined, prepare: 'auto', boundList: false, trashed: 'without', relations: undefined };
}

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

/** The query's values encoded for the dialect, in slot order. */
export function encodeValues(values: readonly unknown[], types: readonly ValueType[], dialect: DialectAdapter): unknown[] {
  const { codec } = dialect;
  const out = new Array<unknown>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const type = types[i]!;
    if (typeof type !== 'object') out[i] = type === 'string' || type === 'integer' || type === 'float' ? value : encodeValue(type, value, codec);
    else if ('list' in type) out[i] = dialect.boundList.bind((value as unknown[]).map((element) => encodeValue(type.list, element, codec)), LIST_ELEMENT_TYPES[type.list]);
    else out[i] = dialect.like.pattern(value as string, type.like);
  }
  return out;
}

/**
 * `knex(table)` with the query's WHERE part, its values as slots from 0, and the
 * soft-delete scope when the model has one and the query did not lift it.
 */
export function conditionsBuilder(knex: Knex, meta: ModelMeta, state: QueryState, dialect: DialectAdapter): Knex.QueryBuilder {
  return applyConditions(knex(meta.tableName), meta, state, dialect, 0);
}

/** Adds the query's WHERE part and soft-delete scope to `q`, its values as slots from `start` (a relation subquery starts after its outer query's). */
export function applyConditions(q: Knex.QueryBuilder, meta: ModelMeta, state: QueryState, dialect: DialectAdapter, start: number): Knex.QueryBuilder {
  const applyAll = (builder: Knex.QueryBuilder) => {
    let index = start;
    for (const node of state.wheres) index = applyWhere(builder, node, index, dialect);
  };
  const deletedAt = state.trashed === 'with' ? undefined : meta.deletedAt;
  if (!deletedAt) {
    applyAll(q);
    return q;
  }
  // The caller's conditions are one group, so an orWhere cannot reach past the scope: (a OR b) AND deleted_at IS NULL.
  if (state.wheres.length > 0) q.where((group) => applyAll(group));
  return state.trashed === 'only' ? q.whereNotNull(deletedAt.column) : q.whereNull(deletedAt.column);
}

/**
 * Where the query runs. A locking read outside a transaction is refused: the lock would
 * be released as soon as the statement ends.
 */
export function targetFor(meta: ModelMeta, state: QueryState): Target {
  const target = resolveTarget(meta, state.explicit, state.primary);
  if (state.lock !== undefined && target.transaction === undefined) {
    throw new TransactionError(`${state.lock.mode === 'update' ? 'forUpdate' : 'forShare'}() outside a transaction on "${target.connection.name}": the lock would be released at once. Run the query inside ${meta.name}.transaction() or ConnectionManager.transaction().`);
  }
  return target;
}

/** Exec options for the query on its target: unprepared once a raw fragment or a text-bound list is part of it. */
export function execOptionsFor(meta: ModelMeta, state: QueryState, target: Target, arrays = false, read = false): ExecOptions {
  return execOptions(meta, state.prepare === 'never' || (state.boundList && target.connection.dialect.boundList.unprepared) ? 'never' : 'auto', arrays, false, read, state.idempotent);
}

/** {@link execOptionsFor} a read (rows, a count, an existence check): safe to run again on a fresh session. */
export function readOptionsFor(meta: ModelMeta, state: QueryState, target: Target, arrays = false): ExecOptions {
  return execOptionsFor(meta, state, target, arrays, true);
}

/** What `toSQL()` returns: the statement's text in the dialect's placeholder syntax and its bindings, encoded as sent. */
export interface StatementText {
  readonly sql: string;
  readonly bindings: readonly unknown[];
}

export function statementText(statement: CompiledStatement, values: readonly unknown[]): StatementText {
  return { sql: statement.sql, bindings: [...bindingsFor(statement, values)] };
}

export function nonNegativeInteger(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new QueryBuilderError(`${what} must be a non-negative integer, got ${String(value)}`);
  return value;
}
