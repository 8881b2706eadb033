import type { ModelQuery } from '../model/query-builder.js';

/** One `scatter()` entry: a model query (not yet awaited), or a function starting the work and returning its promise. */
export type ScatterEntry = ModelQuery<any, any> | (() => PromiseLike<unknown>);

/** What an entry resolves with: a query's records, or what the function's promise resolves with. */
export type ScatterValue<E> = E extends ModelQuery<infer _M, infer R> ? R[] : E extends () => PromiseLike<infer T> ? T : never;

/** Options of `scatter()`. */
export interface ScatterOptions {
  /** Entries running at once (default: all of them). The others start as running ones finish, in the order given. */
  concurrency?: number;
  /**
   * Longest an entry may run, from its start, before it is cancelled (see
   * `ScatterTimeoutError`). On SQLite a statement cannot be interrupted: a SQLite query
   * that started always completes; only one still waiting for the connection is cancelled.
   */
  timeoutMs?: number;
  /** Resolve with what succeeded and the failures in `stats` instead of rejecting on the first failure. */
  partial?: boolean;
}

/** How one entry went. */
export interface ScatterStat {
  /** The connection a query entry ran on; for a function entry, the one its records (or its QueryError) name, if any. */
  readonly connection: string | undefined;
  /** Milliseconds from the entry's start until it settled (0 for one never started). */
  readonly ms: number;
  /** Records (array elements) it resolved with: 0 on failure, undefined for a value that is not an array. */
  readonly rows: number | undefined;
  /** Why it failed: the query's own error, a `ScatterTimeoutError`, or a `ScatterCancelledError`. */
  readonly error?: unknown;
}

/** What `scatter()` resolves with: each entry's value under its key, and each entry's stats. */
export interface ScatterOutcome<E extends Record<string, ScatterEntry>> {
  readonly results: { [K in keyof E]: ScatterValue<E[K]> };
  readonly stats: { [K in keyof E]: ScatterStat };
}

/** What `scatter(…, { partial: true })` resolves with: failed entries are missing from `results`. */
export interface PartialScatterOutcome<E extends Record<string, ScatterEntry>> {
  readonly results: { [K in keyof E]?: ScatterValue<E[K]> };
  readonly stats: { [K in keyof E]: ScatterStat };
}
