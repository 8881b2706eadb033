import type { ConnectionManager } from '../connection/manager.js';
import type { PolyrecordConfig } from '../config/define-config.js';

/** Which models and connections {@link schemaCheck} and {@link makeMigrationFromModels} look at, on which manager. */
export interface SchemaOptions {
  /** Connection names (or aliases): only the models on these. Default: every connection a model lives on. */
  connections?: string[];
  /** Model classes; default the config's `models` (an array of classes, or a glob of files relative to `baseDir`). */
  models?: readonly unknown[];
  /** Default `ConnectionManager.default`. */
  manager?: ConnectionManager;
  /** Default the configuration {@link configureFrom} applied to the manager. */
  config?: PolyrecordConfig;
  /** Folder the config's `models` glob starts from; default the one given to configureFrom. */
  baseDir?: string;
}

/** What is wrong: the table, a column, its type or nullability, or the unique key an upsert needs. */
export type SchemaProblemKind = 'missing-table' | 'missing-column' | 'type' | 'nullability' | 'missing-unique-key';

/**
 * One difference between a model and its live table. A `mismatch` makes `schema:check` exit 1;
 * a `warning` works, with the caveat `message` gives (e.g. an `integer` property on a 64-bit column).
 */
export interface SchemaProblem {
  readonly connection: string;
  readonly model: string;
  readonly table: string;
  readonly kind: SchemaProblemKind;
  readonly severity: 'mismatch' | 'warning';
  /** The column (for `missing-column`, `type`, `nullability`). */
  readonly column?: string;
  /** The columns of the missing unique key (for `missing-unique-key`). */
  readonly columns?: readonly string[];
  /** What the model declares: a type, `null`/`not null`, or the key's user (`@SyncTo on User`, `job copy_users`). */
  readonly declared?: string;
  /** What the table has: the column's type, `null`/`not null`. */
  readonly actual?: string;
  readonly message: string;
}

/** One model compared with its table. */
export interface CheckedModel {
  readonly connection: string;
  readonly model: string;
  readonly table: string;
}

/** What {@link schemaCheck} found. */
export interface SchemaCheckReport {
  /** No mismatch (warnings allowed). */
  readonly ok: boolean;
  /** Every model compared, in config order. */
  readonly checked: readonly CheckedModel[];
  /** Mismatches and warnings, per connection and model in the order checked. */
  readonly problems: readonly SchemaProblem[];
}
