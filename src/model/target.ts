import type { Connection } from '../connection/connection.js';
import type { ExecOptions, ExecResult, PreparePolicy } from '../connection/dialects/dialect.js';
import { ConnectionManager } from '../connection/manager.js';
import { currentFrame, scopedConnection } from '../context/scope.js';
import { ModelDefinitionError, ValidationError } from '../errors.js';
import { currentTransaction } from '../connection/session/local-transaction.js';
import type { Transaction } from '../connection/session/local-transaction.js';
import { encodeValue } from '../connection/column-codecs.js';
import { promised } from '../util/maybe-promise.js';
import { metaOf, type ColumnMeta, type ModelMeta } from './metadata.js';
import { bindingsFor, type CompiledStatement } from './statement-compiler.js';

/** Set on the object `Model.using(name)` returns: the connection every static call on it uses. */
export const VIEW_CONNECTION = Symbol('polyrecord.using');
/** Set on the object `Model.using(name, { role: 'primary' })` returns: its reads never go to a replica. */
export const VIEW_PRIMARY = Symbol('polyrecord.usingPrimary');

/** Where one model operation runs: a connection and, if one is open there in scope, its transaction. */
export interface Target {
  readonly meta: ModelMeta;
  readonly connection: Connection;
  readonly transaction: Transaction | undefined;
  /** Reads go to the primary even where the connection has replicas (`using(name, { role: 'primary' })`). */
  readonly primary?: boolean;
}

/** The model class and explicit connection behind a static call's `this` (a class, or a `using()` view). */
export function modelOf(self: object): { meta: ModelMeta; explicit: string | undefined; primary: boolean } {
  const explicit = (self as { [VIEW_CONNECTION]?: string })[VIEW_CONNECTION];
  const ctor = explicit === undefined ? self : Object.getPrototypeOf(self);
  const meta = metaOf(ctor as Function);
  if (!meta?.table) throw new ModelDefinitionError(`${(ctor as Function).name || 'this class'} is not a model: decorate it with @Model({ connection, table })`);
  return { meta, explicit, primary: (self as { [VIEW_PRIMARY]?: boolean })[VIEW_PRIMARY] === true };
}

/**
 * Resolves the connection for a model operation. Precedence: an explicit
 * `using()` name, then the innermost async scope (`usingConnection` /
 * `withConnections`), then the model's own connection. Aliases resolve here.
 */
export function resolveTarget(meta: ModelMeta, explicit: string | undefined, primary = false): Target {
  const declared = meta.connection!;
  const frame = currentFrame();
  const name = explicit ?? (frame === undefined ? undefined : scopedConnection(frame, meta.ctor, declared)) ?? declared;
  const connection = (meta.manager ?? ConnectionManager.default).get(name);
  const transaction = frame === undefined ? undefined : currentTransaction(connection);
  return primary ? { meta, connection, transaction, primary } : { meta, connection, transaction };
}

/** Runs a compiled statement with already-encoded values on the target (inside its transaction if any). */
export function runStatement(target: Target, statement: CompiledStatement, values: readonly unknown[], options: ExecOptions): Promise<ExecResult> {
  return promised(() => runStatementNow(target, statement, values, options));
}

/**
 * {@link runStatement}, answering synchronously where the driver did (SQLite outside a
 * transaction): the hot single-row paths finish without a promise of their own. Throws
 * what `runStatement` would reject with.
 */
export function runStatementNow(target: Target, statement: CompiledStatement, values: readonly unknown[], options: ExecOptions): ExecResult | Promise<ExecResult> {
  const bindings = bindingsFor(statement, values);
  if (target.transaction) return target.transaction.execute(statement.sql, bindings, options);
  return target.connection.executeNow(statement.sql, bindings, target.primary === true && options.readOnly === true ? { ...options, readOnly: false } : options);
}

/** Encodes a value for a column on the target's dialect. */
export function encodeFor(target: Target, column: ColumnMeta, value: unknown): unknown {
  try {
    return encodeValue(column.type, value, target.connection.dialect.codec);
  } catch (error) {
    // Name the property the refused value was given for.
    if (error instanceof ValidationError && error.property === undefined) throw new ValidationError(error.message, column.property);
    throw error;
  }
}

// Every combination made once: the hot paths pick one without allocating. Bits: prepared, bigint-safe, first row only, rows as arrays, may run twice, a read.
const OPTIONS: readonly ExecOptions[] = Array.from({ length: 64 }, (_, bits) =>
  Object.freeze({
    prepare: bits & 1 ? 'auto' : 'never',
    ...(bits & 2 ? { safeIntegers: true } : {}),
    ...(bits & 4 ? { firstRow: true } : {}),
    ...(bits & 8 ? { arrays: true } : {}),
    ...(bits & 16 ? { idempotent: true } : {}),
    // A read may also run, outside a transaction, on a replica.
    ...(bits & 32 ? { readOnly: true } : {}),
  } satisfies ExecOptions),
);

/**
 * Exec options for a model's statements: compiled shapes are prepared once they repeat
 * (`'auto'`), raw SQL is not unless its caller asked; 64-bit integers stay exact where
 * the model has bigint columns. `arrays`: rows come as arrays in select-list order
 * (what `hydratorFor` reads). `read`: the statement changes nothing, so it may run twice
 * and on a replica; `idempotent`: a write the caller marked as safe to run twice
 * (see `ExecOptions.idempotent`).
 */
export function execOptions(meta: ModelMeta, prepare: PreparePolicy = 'auto', arrays = false, firstRow = false, read = false, idempotent = false): ExecOptions {
  return OPTIONS[(prepare === 'auto' ? 1 : 0) | (meta.hasBigint ? 2 : 0) | (firstRow ? 4 : 0) | (arrays ? 8 : 0) | (read || idempotent ? 16 : 0) | (read ? 32 : 0)]!;
}

/** {@link execOptions} for a lookup by a unique key (rows as arrays, one at most; a read). */
export function lookupOptions(meta: ModelMeta): ExecOptions {
  return execOptions(meta, 'auto', true, true, true);
}

/** {@link execOptions} for a one-row `INSERT … RETURNING` (a write: never run twice). */
export function singleRowOptions(meta: ModelMeta): ExecOptions {
  return execOptions(meta, 'auto', false, true);
}
