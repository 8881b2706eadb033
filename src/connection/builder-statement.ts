import type { Knex } from 'knex';

/** A knex query builder or `knex.raw`: one statement, built but not run. */
export type StatementBuilder = Knex.QueryBuilder | Knex.Raw;

/** What a builder compiles to: its text in the dialect's native placeholders and the values to bind. */
export interface NativeStatement {
  readonly sql: string;
  readonly bindings: readonly unknown[];
}

/**
 * Compiles a builder for `Connection.execute`. Polyrecord never awaits a builder: knex
 * would run it on its own, past the typed errors, password filter, breaker and limits.
 */
export function nativeStatement(builder: StatementBuilder): NativeStatement {
  const { sql, bindings } = builder.toSQL().toNative();
  return { sql, bindings };
}
