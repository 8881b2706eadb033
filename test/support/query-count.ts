import { ConnectionManager, type QueryEvent } from '../../src/index.js';

/** What {@link countQueries} collected. */
export interface CountedQueries<T> {
  readonly result: T;
  /** The statements, in the order they finished. */
  readonly queries: QueryEvent[];
  /** `queries.length`. */
  readonly count: number;
  /** The statements' texts. */
  readonly sql: string[];
}

/**
 * Runs `fn` and collects the statements sent meanwhile (the manager's `'query'` event),
 * on every connection or only on `connection` (a name or alias). Proves a code path's
 * statement count, e.g. that loading a relation takes one query, not one per record.
 *
 * @example
 * ```ts
 * const { result, queries } = await countQueries(() => Post.query().with('author').all(), { connection: 'primary' })
 * expect(queries).toHaveLength(2)
 * ```
 */
export async function countQueries<T>(fn: () => Promise<T> | T, options: { connection?: string; manager?: ConnectionManager } = {}): Promise<CountedQueries<T>> {
  const manager = options.manager ?? ConnectionManager.default;
  const only = options.connection === undefined ? undefined : manager.get(options.connection).name;
  const queries: QueryEvent[] = [];
  const listener = (event: QueryEvent) => {
    if (only === undefined || event.connection === only) queries.push(event);
  };
  manager.events.on('query', listener);
  try {
    const result = await fn();
    return { result, queries, count: queries.length, sql: queries.map((q) => q.sql) };
  } finally {
    manager.events.off('query', listener);
  }
}
