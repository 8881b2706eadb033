import type { ModelMeta } from './metadata.js';
import type { ModelQuery } from './query-builder.js';
import type { QueryState } from './query-state.js';

// ModelQuery's preload(), withCount() and whereHas() call the relation code, and the relation
// code builds sub-queries with ModelQuery. Importing the class both ways would be an import
// circle (its load order decides which side sees `undefined`), so query-builder.ts hands the
// class over here when it loads; no query, and so no relation work, can exist before that.
let modelQuery: typeof ModelQuery | undefined;

/** Called once by query-builder.ts, right after the class is defined. */
export function provideModelQuery(queryClass: typeof ModelQuery): void {
  modelQuery = queryClass;
}

/** A query of `meta` from `state` (a fresh one without it), as `new ModelQuery(meta, undefined, state)`. */
export function createQuery<M extends object>(meta: ModelMeta, state?: QueryState): ModelQuery<M> {
  return new modelQuery!<M>(meta, undefined, state);
}

/** The model and state behind a query (`ModelQuery.stateOf`). */
export function stateOf(query: ModelQuery<object, unknown>): { meta: ModelMeta; state: QueryState } {
  return modelQuery!.stateOf(query);
}

export function isModelQuery(value: unknown): value is ModelQuery<object> {
  return value instanceof modelQuery!;
}
