import type { Knex } from 'knex';
import type { QueryState } from '../query-state.js';
import type { ResolvedRelation } from './relation-types.js';

/** One relation to preload: its name and the related query's state (constraints, nested preloads). */
export interface PreloadSpec {
  readonly name: string;
  readonly state: QueryState;
}

/** A `withCount(name)`: the count lands in `$counts[name]`. */
export interface CountSpec {
  readonly name: string;
  readonly state: QueryState;
}

/** A `whereHas` (`not: false`) or `whereDoesntHave` (`not: true`). */
export interface FilterSpec {
  readonly name: string;
  readonly not: boolean;
  readonly state: QueryState;
}

/** A count compiled into the parent's SELECT (same connection): a correlated subquery read back from column `alias`. */
export interface CountColumn {
  readonly name: string;
  readonly alias: string;
  /** The subquery, its values as slots from `start`. */
  readonly build: (knex: Knex, start: number) => Knex.QueryBuilder;
  readonly start: number;
}

/**
 * `record.related(name)` of a many-to-many whose pivot is on another connection than the
 * related rows: the related keys linked to `key` are read on the pivot's connection when
 * the query runs, and become `relatedKey IN (…)` here.
 */
export interface PivotParent {
  readonly relation: ResolvedRelation;
  /** The connection the parent record was read from (the pivot's, unless `pivotConnection` names another). */
  readonly parentConnection: string;
  readonly key: unknown;
}

/** What a query does with relations besides its own rows. */
export interface RelationWork {
  readonly preloads: readonly PreloadSpec[];
  readonly counts: readonly CountSpec[];
  readonly filters: readonly FilterSpec[];
  /** `.crossConnectionKeyLimit(n)`; undefined: the manager's. */
  readonly keyLimit: number | undefined;
  /** Set once counts and filters are resolved for a connection (at run time). */
  readonly countColumns: readonly CountColumn[];
  /** Set by `related()` when its pivot is on another connection; resolved at run time. */
  readonly pivotParent: PivotParent | undefined;
}

export const NO_RELATION_WORK: RelationWork = { preloads: [], counts: [], filters: [], keyLimit: undefined, countColumns: [], pivotParent: undefined };

/** The state with its relation work changed. */
export function withWork(state: QueryState, patch: Partial<RelationWork>): QueryState {
  return { ...state, relations: { ...(state.relations ?? NO_RELATION_WORK), ...patch } };
}
