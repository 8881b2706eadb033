import type { Knex } from 'knex';
import type { Connection } from '../connection/connection.js';
import type { ModelMeta } from './metadata.js';

/**
 * A query shape compiled once per model and dialect: the SQL text in the dialect's
 * native placeholder syntax and where each bound value comes from. Building SQL with
 * knex costs tens of microseconds; reusing it (and the driver's prepared statement)
 * is what keeps model queries close to the raw driver.
 */
export interface CompiledStatement {
  readonly sql: string;
  /** For each placeholder: the index of the caller's value, or `-1 - i` for `constants[i]`. */
  readonly slots: readonly number[];
  readonly constants: readonly unknown[];
  /** Slots are exactly 0..n-1: the caller's values can be bound as they are. */
  readonly identity: boolean;
}

const SENTINEL = '\u0000polyrecord:';

/** The stand-in for value `index` while a shape is being compiled. */
export function slot(index: number): string {
  return SENTINEL + index;
}

/**
 * knex writes an escaped `\?` (a literal question mark in raw SQL) through unchanged on
 * SQLite and MySQL (only its PostgreSQL client unescapes it); a `?` inside a quoted
 * literal is no placeholder to those databases, so the backslash goes.
 */
export function unescapeQuestionMarks(sql: string): string {
  return sql.includes('\\?') ? sql.replaceAll('\\?', '?') : sql;
}

/** Compiles a knex builder whose values are {@link slot}s; `suffix` is text knex cannot write for the dialect (a row lock clause). */
export function compileBuilder(builder: Knex.QueryBuilder | Knex.Raw, suffix = ''): CompiledStatement {
  const sql = builder.toSQL();
  if (Array.isArray(sql)) throw new Error('polyrecord: a compiled shape must produce one statement');
  const native = sql.toNative();
  const constants: unknown[] = [];
  const slots = native.bindings.map((binding) => {
    if (typeof binding === 'string' && binding.startsWith(SENTINEL)) return Number(binding.slice(SENTINEL.length));
    constants.push(binding);
    return -constants.length;
  });
  return { sql: unescapeQuestionMarks(native.sql) + suffix, slots, constants, identity: slots.every((s, i) => s === i) };
}

/** The statement for `key` on the connection's dialect, compiled by `build` (and `suffix`, see {@link compileBuilder}) on first use. */
export function compiled(meta: ModelMeta, connection: Connection, key: string, build: (knex: Knex) => Knex.QueryBuilder | Knex.Raw, suffix = ''): CompiledStatement {
  const cache = meta.statements[connection.driver];
  let statement = cache.get(key);
  if (statement === undefined) {
    statement = compileBuilder(build(connection.knex), suffix);
    cache.set(key, statement);
  }
  return statement;
}

/** The bindings for a statement, in placeholder order. */
export function bindingsFor(statement: CompiledStatement, values: readonly unknown[]): readonly unknown[] {
  if (statement.identity) return values;
  return statement.slots.map((s) => (s >= 0 ? values[s] : statement.constants[-1 - s]));
}
