import { QueryBuilderError } from '../../errors.js';
import type { ModelMeta } from '../metadata.js';
import type { ModelQuery } from '../query-builder.js';
import { createQuery, stateOf, isModelQuery } from '../query-class.js';
import { nonNegativeInteger, type QueryState } from '../query-state.js';
import { RelationError } from './relation-errors.js';
import { relationNames, relationOf } from './relation-resolve.js';
import type { ResolvedRelation } from './relation-types.js';
import { NO_RELATION_WORK, withWork, type PreloadSpec } from './relation-work.js';

/** A constraint callback: receives the related model's query, returns it refined. */
export type RelationConstraint = (query: ModelQuery<any>) => unknown;

/**
 * Adds `preload(path, constrain?)` to a query's state. A dotted path preloads each step
 * (`albums.tracks`, the callback constraining the last); preloading a relation twice
 * merges their nested preloads. Everything is checked now, before any SQL.
 */
export function addPreload(meta: ModelMeta, state: QueryState, path: string, constrain: RelationConstraint | undefined): QueryState {
  if (typeof path !== 'string' || path === '') throw new RelationError(meta.name, String(path), relationNames(meta), 'preload() needs a relation name');
  const [head, ...rest] = path.split('.');
  const relation = relationOf(meta, head!);
  const nested = rest.join('.');
  const child = nested ? addPreload(relation.related, emptyRelated(relation), nested, constrain) : constrained(relation, constrain, 'preload');
  const work = state.relations ?? NO_RELATION_WORK;
  const existing = work.preloads.find((p) => p.name === head);
  const spec: PreloadSpec = existing ? { name: head!, state: merge(relation.related, existing.state, child, nested !== '') } : { name: head!, state: child };
  return withWork(state, { preloads: existing ? work.preloads.map((p) => (p === existing ? spec : p)) : [...work.preloads, spec] });
}

// A path through a relation already preloaded keeps that preload's constraints and adds the nested ones.
function merge(related: ModelMeta, before: QueryState, after: QueryState, viaPath: boolean): QueryState {
  const base = viaPath ? before : after;
  const extra = viaPath ? after : before;
  let merged = base;
  for (const preload of extra.relations?.preloads ?? []) merged = mergeSpec(related, merged, preload);
  return merged;
}

function mergeSpec(related: ModelMeta, state: QueryState, spec: PreloadSpec): QueryState {
  const work = state.relations ?? NO_RELATION_WORK;
  const existing = work.preloads.find((p) => p.name === spec.name);
  if (!existing) return withWork(state, { preloads: [...work.preloads, spec] });
  const inner = relationOf(related, spec.name).related;
  return withWork(state, { preloads: work.preloads.map((p) => (p === existing ? { name: p.name, state: merge(inner, existing.state, spec.state, true) } : p)) });
}

/** The related query's state after the constraint callback (run now, so a bad callback fails before any SQL). */
export function constrained(relation: ResolvedRelation, constrain: RelationConstraint | undefined, method: string): QueryState {
  const base = createQuery<object>(relation.related);
  if (constrain === undefined) return stateOf(base).state;
  if (typeof constrain !== 'function') throw new RelationError(relation.owner.name, relation.name, relationNames(relation.owner), `the constraint of ${method}() must be a function taking the ${relation.related.name} query`);
  const result = constrain(base);
  if (!isModelQuery(result) || stateOf(result).meta !== relation.related) {
    throw new RelationError(relation.owner.name, relation.name, relationNames(relation.owner), `the constraint of ${method}() must return the ${relation.related.name} query it was given (refined), not ${describe(result)}`);
  }
  return stateOf(result).state;
}

function emptyRelated(relation: ResolvedRelation): QueryState {
  return stateOf(createQuery<object>(relation.related)).state;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined (did the arrow function forget to return it?)';
  if (value === null) return 'null';
  if (isModelQuery(value)) return `a query of ${stateOf(value).meta.name}`;
  return typeof value === 'object' ? (value.constructor?.name ?? 'an object') : typeof value;
}

export function addCount(meta: ModelMeta, state: QueryState, name: string, constrain: RelationConstraint | undefined): QueryState {
  const relation = relationOf(meta, name);
  const work = state.relations ?? NO_RELATION_WORK;
  return withWork(state, { counts: [...work.counts.filter((c) => c.name !== name), { name, state: constrained(relation, constrain, 'withCount') }] });
}

export function addFilter(meta: ModelMeta, state: QueryState, name: string, not: boolean, constrain: RelationConstraint | undefined): QueryState {
  const relation = relationOf(meta, name);
  const work = state.relations ?? NO_RELATION_WORK;
  return withWork(state, { filters: [...work.filters, { name, not, state: constrained(relation, constrain, not ? 'whereDoesntHave' : 'whereHas') }] });
}

export function setKeyLimit(state: QueryState, limit: number): QueryState {
  if (nonNegativeInteger('crossConnectionKeyLimit', limit) < 1) throw new QueryBuilderError('crossConnectionKeyLimit must be at least 1');
  return withWork(state, { keyLimit: limit });
}
