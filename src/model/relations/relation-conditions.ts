import type { KeyValue } from '../key-values.js';
import type { Knex } from 'knex';
import { count as countOf } from '../aggregates.js';
import type { ModelMeta } from '../metadata.js';
import type { ModelQuery } from '../query-builder.js';
import { createQuery, stateOf } from '../query-class.js';
import { applyConditions, type QueryState } from '../query-state.js';
import type { Target } from '../target.js';
import type { WhereNode } from '../where-nodes.js';
import { setCount } from './record-relations.js';
import { CrossConnectionLimitError } from './relation-errors.js';
import { coerceKey, chunks, distinctKeys, integerKey, matchKey } from './relation-keys.js';
import { relationOf } from './relation-resolve.js';
import { linkedKeys, pivotKeys, readPivot } from './pivot-rows.js';
import { managerOf, pivotTarget, relatedExplicit, relatedTarget } from './relation-target.js';
import type { ResolvedRelation } from './relation-types.js';
import { NO_RELATION_WORK, type CountColumn, type CountSpec } from './relation-work.js';

/** How a subquery names its tables: `pr_r1`, `pr_p1` one level in, `pr_r2` inside those, so each level correlates with the one around it. */
interface Level {
  /** The outer row's table (or alias) the subquery correlates with. */
  readonly parent: string;
  readonly depth: number;
}

const related = (level: Level) => `pr_r${level.depth + 1}`;
const pivotAlias = (level: Level) => `pr_p${level.depth + 1}`;

/**
 * Turns a query's relation filters and counts into SQL for the connection it runs on.
 * Where the related table (and pivot) share that connection, a filter becomes
 * `[NOT] EXISTS (correlated subquery)` and a count a correlated subquery in the SELECT:
 * one statement. Across connections a filter reads the related keys there first
 * (`SELECT DISTINCT key … LIMIT limit + 1`) and becomes `key [NOT] IN (…)` here; counts
 * across connections are left for {@link countAcross} after the rows are read. The
 * related keys of a `related()` whose pivot is elsewhere are read there the same way.
 */
export async function resolveRelationConditions(meta: ModelMeta, state: QueryState, target: Target, level: Level = { parent: meta.tableName, depth: 0 }): Promise<QueryState> {
  const work = state.relations ?? NO_RELATION_WORK;
  if (work.filters.length === 0 && work.counts.length === 0 && work.pivotParent === undefined) return state;
  let query = createQuery<object>(meta, { ...state, relations: { ...work, filters: [], counts: [], pivotParent: undefined } });
  const parent = target.connection.name;
  if (work.pivotParent) {
    const { relation, parentConnection, key } = work.pivotParent;
    query = query.whereIn(relation.childKey.property as never, (await linkedKeys(relation, parentConnection, key, keyLimit(meta, state))) as never);
  }
  for (const filter of work.filters) {
    const relation = relationOf(meta, filter.name);
    const same = sameConnection(relation, target);
    const inner = await relatedState(relation, filter.state, parent, same ? { parent: related(level), depth: level.depth + 1 } : undefined);
    if (same) {
      query = withState(query, appendNode(stateOf(query).state, existsNode(relation, inner, filter.not, level), `${filter.not ? '!' : ''}has(${relation.name}:${inner.key}~${inner.trashed})`, inner));
      continue;
    }
    const keys = await parentKeysHaving(relation, inner, parent, keyLimit(meta, state));
    const property = relation.parentKey.property as never;
    query = filter.not ? query.where((q) => q.whereNotIn(property, keys as never).orWhere(property, null as never)) : query.whereIn(property, keys as never);
  }
  const countColumns: CountColumn[] = [];
  let s = stateOf(query).state;
  for (const spec of work.counts) {
    const relation = relationOf(meta, spec.name);
    if (!sameConnection(relation, target)) continue;
    const inner = await relatedState(relation, spec.state, parent, { parent: related(level), depth: level.depth + 1 });
    const start = s.values.length;
    countColumns.push({ name: spec.name, alias: `pr_count_${countColumns.length}`, start, build: (knex, from) => countSubquery(knex, relation, inner, target, from, level) });
    s = {
      ...s,
      key: `${s.key}~count(${relation.name}:${inner.key}~${inner.trashed});`,
      values: [...s.values, ...inner.values],
      types: [...s.types, ...inner.types],
      prepare: inner.prepare === 'never' ? 'never' : s.prepare,
      boundList: s.boundList || inner.boundList,
    };
  }
  return { ...s, relations: { ...work, filters: [], counts: work.counts.filter((c) => !countColumns.some((col) => col.name === c.name)), countColumns, pivotParent: undefined } };
}

/** Counts across connections, after the parents are read: one grouped count per chunk of parent keys on the related connection. */
export async function countAcross(meta: ModelMeta, records: readonly object[], state: QueryState, target: Target): Promise<void> {
  for (const spec of state.relations?.counts ?? []) await countOne(meta, records, spec, state, target);
}

async function countOne(meta: ModelMeta, records: readonly object[], spec: CountSpec, state: QueryState, target: Target): Promise<void> {
  const relation = relationOf(meta, spec.name);
  const { parentKey, childKey } = relation;
  const integer = integerKey(parentKey) && integerKey(childKey);
  const parent = target.connection.name;
  const keys = distinctKeys(records, parentKey.property, integer, relation.pivot ? parentKey : childKey);
  const limit = keyLimit(meta, state);
  if (keys.length > limit) throw new CrossConnectionLimitError(meta.name, relation.name, keys.length, limit);
  const counts = new Map<KeyValue, number>();
  const inner = await relatedState(relation, spec.state, parent);
  if (relation.pivot) {
    const pivotRows = await readPivot(relation, parent, keys);
    const wanted = distinctKeys(pivotRows.map((p) => ({ k: p.relatedKey })), 'k', integer, childKey);
    const present = new Set<KeyValue>();
    for (const chunk of chunks(wanted, maxKeys(relation, parent, inner))) {
      for (const value of await createQuery<object>(relation.related, inner).whereIn(childKey.property as never, chunk as never).pluck(childKey.property as never)) present.add(matchKey(value, integer, childKey.property)!);
    }
    for (const row of pivotRows) {
      if (!present.has(matchKey(row.relatedKey, integer, childKey.property)!)) continue;
      const key = matchKey(row.foreignKey, integer, parentKey.property)!;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  } else {
    for (const chunk of chunks(keys, maxKeys(relation, parent, inner))) {
      const rows = await createQuery<object>(relation.related, inner)
        .whereIn(childKey.property as never, chunk as never)
        .groupBy(childKey.property as never)
        .aggregate({ n: countOf() });
      for (const row of rows as Record<string, unknown>[]) counts.set(matchKey(row[childKey.property], integer, childKey.property)!, Number(row.n));
    }
  }
  for (const record of records) {
    const key = matchKey((record as Record<string, unknown>)[parentKey.property], integer, parentKey.property);
    setCount(record, spec.name, key === undefined ? 0 : (counts.get(key) ?? 0));
  }
}

/** The related query's state on the connection the rule gives it, its own relation filters resolved there (as a subquery at `level`, or a query of its own). */
async function relatedState(relation: ResolvedRelation, state: QueryState, parentConnection: string, level?: Level): Promise<QueryState> {
  const inner = { ...state, explicit: relatedExplicit(relation, parentConnection) };
  return resolveRelationConditions(relation.related, inner, relatedTarget(relation, parentConnection), level);
}

function sameConnection(relation: ResolvedRelation, target: Target): boolean {
  const parent = target.connection.name;
  if (relatedTarget(relation, parent).connection !== target.connection) return false;
  return !relation.pivot || pivotTarget(relation, parent).connection === target.connection;
}

function keyLimit(meta: ModelMeta, state: QueryState): number {
  return state.relations?.keyLimit ?? managerOf(meta).crossConnectionKeyLimit;
}

function maxKeys(relation: ResolvedRelation, parentConnection: string, inner: QueryState): number {
  return relatedTarget(relation, parentConnection).connection.dialect.maxBindings - inner.values.length - 1;
}

/** Parent keys that have (related rows matching `inner`), read on the other connection(s); above `limit` keys a CrossConnectionLimitError. */
async function parentKeysHaving(relation: ResolvedRelation, inner: QueryState, parentConnection: string, limit: number): Promise<unknown[]> {
  const { childKey, parentKey } = relation;
  const integer = integerKey(parentKey) && integerKey(childKey);
  const related = createQuery<object>(relation.related, inner).whereNotNull(childKey.property as never);
  const read = await related.distinct(childKey.property as never).limit(limit + 1).pluck(childKey.property as never);
  if (read.length > limit) throw new CrossConnectionLimitError(relation.owner.name, relation.name, await related.countDistinct(childKey.property as never), limit);
  if (!relation.pivot) return distinctKeys(read.map((k) => ({ k })), 'k', integer, parentKey);
  const parents = await pivotKeys(relation, parentConnection, 'relatedKey', read.map((k) => coerceKey(childKey, k)));
  if (parents.length > limit) throw new CrossConnectionLimitError(relation.owner.name, relation.name, parents.length, limit);
  return distinctKeys(parents.map((k) => ({ k })), 'k', integer, parentKey);
}

function withState(query: ModelQuery<object>, state: QueryState): ModelQuery<object> {
  return createQuery<object>(stateOf(query).meta, state);
}

function appendNode(state: QueryState, node: WhereNode, keyPart: string, inner: QueryState): QueryState {
  return {
    ...state,
    key: `${state.key}&${keyPart};`,
    wheres: [...state.wheres, node],
    values: [...state.values, ...inner.values],
    types: [...state.types, ...inner.types],
    prepare: inner.prepare === 'never' ? 'never' : state.prepare,
    boundList: state.boundList || inner.boundList,
  };
}

function existsNode(relation: ResolvedRelation, inner: QueryState, not: boolean, level: Level): WhereNode {
  return {
    kind: 'exists',
    bool: 'and',
    not,
    count: inner.values.length,
    build: (q, index, dialect) => {
      q.select('*');
      correlate(q, relation, level);
      if (relation.pivot) q.whereIn(`${pivotAlias(level)}.${relation.pivot.relatedKey}`, (sub: Knex.QueryBuilder) => void applyConditions(sub.select(relation.childKey.column).from({ [related(level)]: relation.related.tableName }), relation.related, inner, dialect, index));
      else applyConditions(q, relation.related, inner, dialect, index);
    },
  };
}

// FROM the related table (or pivot) under an alias, correlated with the parent row: `alias.key = parent_table.key`.
function correlate(q: Knex.QueryBuilder, relation: ResolvedRelation, level: Level): void {
  const parentColumn = `${level.parent}.${relation.parentKey.column}`;
  if (relation.pivot) q.from({ [pivotAlias(level)]: relation.pivot.table }).whereRaw('?? = ??', [`${pivotAlias(level)}.${relation.pivot.foreignKey}`, parentColumn]);
  else q.from({ [related(level)]: relation.related.tableName }).whereRaw('?? = ??', [`${related(level)}.${relation.childKey.column}`, parentColumn]);
}

function countSubquery(knex: Knex, relation: ResolvedRelation, inner: QueryState, target: Target, start: number, level: Level): Knex.QueryBuilder {
  const dialect = target.connection.dialect;
  const q = knex.queryBuilder().count('*');
  correlate(q, relation, level);
  if (relation.pivot) q.whereIn(`${pivotAlias(level)}.${relation.pivot.relatedKey}`, (sub: Knex.QueryBuilder) => void applyConditions(sub.select(relation.childKey.column).from({ [related(level)]: relation.related.tableName }), relation.related, inner, dialect, start));
  else applyConditions(q, relation.related, inner, dialect, start);
  return q;
}
