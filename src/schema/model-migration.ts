import type { DialectAdapter } from '../connection/dialects/dialect.js';
import { sourceText, type LiveTable } from '../connection/dialects/schema-support.js';
import { ConfigError, ModelDefinitionError } from '../errors.js';
import type { ColumnMeta, ModelMeta } from '../model/metadata.js';
import { writeMigration, type MakeMigrationOptions } from '../migrations/make-migration.js';
import { hasUniqueKey } from './conflict-keys.js';
import { readLiveTable, splitTableName } from './live-table.js';
import { schemaScope, type PlacedModel } from './schema-check.js';
import type { SchemaOptions } from './schema-types.js';

/** What {@link makeMigrationFromModels} takes. */
export interface ModelMigrationOptions extends Omit<SchemaOptions, 'connections' | 'models'>, Pick<MakeMigrationOptions, 'kind' | 'now'> {
  /** The connection whose migration folder gets the file, and whose dialect the column types are written for. */
  connection: string;
  /** Model classes, or names of the config's models; default every model of the config on `connection`. */
  models?: readonly unknown[];
}

/**
 * Writes a migration that creates what the models' tables lack on a connection: missing tables
 * (every column, the primary key, nullability and field-initializer defaults as declared, unique
 * keys for the `conflictKeys` of `@SyncTo` and jobs), missing columns and missing unique keys of
 * existing tables. `down` drops what `up` creates. Returns the file's path, or undefined when
 * nothing is missing (no file is written).
 *
 * @example
 * ```ts
 * configureFrom(config)
 * const file = await makeMigrationFromModels('create_users', { connection: 'primary', kind: 'ts' })
 * await migrate({ connections: ['primary'] })
 * ```
 * @throws {ConfigError} for a model name the config does not have, or a model on another connection.
 * @throws {ModelDefinitionError} for a column without a declared type.
 */
export async function makeMigrationFromModels(name: string, options: ModelMigrationOptions): Promise<string | undefined> {
  const { models, requirements, connection } = await chosenModels(options);
  const up: string[] = [];
  const down: string[] = [];
  const tables = new Set<string>();
  for (const { meta } of models) {
    if (tables.has(meta.tableName)) continue;
    tables.add(meta.tableName);
    const keys = requirements.filter((r) => r.meta === meta).map((r) => r.columns);
    const change = tableChange(meta, await readLiveTable(connection, meta.tableName), keys, connection.dialect);
    if (change === undefined) continue;
    up.push(change.up);
    down.unshift(change.down);
  }
  if (up.length === 0) return undefined;
  return writeMigration(name, { ...options, connection: connection.name }, { up: up.join('\n'), down: down.join('\n') });
}

/** The models to create on the connection: the ones given (classes, or names of the config's models), or all of the config's there. */
async function chosenModels(options: ModelMigrationOptions) {
  const connections = [options.connection];
  const fromConfig = await schemaScope({ ...options, connections, models: undefined });
  const connection = fromConfig.manager.get(options.connection);
  const given = options.models ?? [];
  if (given.length === 0) return { models: fromConfig.models, requirements: fromConfig.requirements, connection };
  const classes = given.filter((m) => typeof m !== 'string');
  const fromClasses = classes.length === 0 ? undefined : await schemaScope({ ...options, connections, models: classes });
  const models = given.map((wanted) => {
    if (typeof wanted === 'string') return named(fromConfig.models, wanted, connection.name);
    const found = fromClasses!.models.find(({ meta }) => meta.ctor === wanted);
    if (!found) throw new ConfigError('models', `${(wanted as Function).name} does not live on connection "${connection.name}"`);
    return found;
  });
  return { models, requirements: [...fromConfig.requirements, ...(fromClasses?.requirements ?? [])], connection };
}

function named(models: readonly PlacedModel[], wanted: string, connection: string): PlacedModel {
  const found = models.find(({ meta }) => meta.name === wanted);
  if (!found) throw new ConfigError('models', `no model named ${wanted} on connection "${connection}" in the config (it has: ${models.map(({ meta }) => meta.name).join(', ') || 'none'})`);
  return found;
}

/** The `up` and `down` statements for one table, or undefined when it lacks nothing. */
function tableChange(meta: ModelMeta, live: LiveTable | undefined, keys: readonly (readonly string[])[], dialect: DialectAdapter): { up: string; down: string } | undefined {
  const { schema, table } = splitTableName(meta.tableName);
  const builder = `knex.schema${schema === undefined ? '' : `.withSchema(${sourceText(schema)})`}`;
  const defaults = fieldDefaults(meta);
  const primary = meta.columns.find((c) => c.primary);
  if (live === undefined) {
    const lines = meta.columns.map((column) => columnLine(meta, column, dialect, defaults, true));
    for (const key of keys) if (!(key.length === 1 && key[0] === primary?.column) && !hasUniqueKey(keys.slice(0, keys.indexOf(key)), key)) lines.push(`t.unique(${sourceList(key)})`);
    return { up: block(builder, 'createTable', table, lines), down: `  await ${builder}.dropTable(${sourceText(table)})` };
  }
  const present = new Set(live.columns.map((c) => c.name));
  const added = meta.columns.filter((c) => !present.has(c.column));
  const uniques = keys.filter((key, i) => !hasUniqueKey(live.uniqueKeys, key) && !hasUniqueKey(keys.slice(0, i), key));
  if (added.length === 0 && uniques.length === 0) return undefined;
  const up = [...added.map((column) => columnLine(meta, column, dialect, defaults, false)), ...uniques.map((key) => `t.unique(${sourceList(key)})`)];
  const undo = [...uniques.map((key) => `t.dropUnique(${sourceList(key)})`), ...(added.length > 0 ? [`t.dropColumns(${added.map((c) => sourceText(c.column)).join(', ')})`] : [])];
  return { up: block(builder, 'alterTable', table, up), down: block(builder, 'alterTable', table, undo) };
}

function block(builder: string, method: 'createTable' | 'alterTable', table: string, lines: readonly string[]): string {
  return [`  await ${builder}.${method}(${sourceText(table)}, (t) => {`, ...lines.map((line) => `    ${line}`), '  })'].join('\n');
}

/** One column's builder call: type for the dialect, primary key, nullability, default. */
function columnLine(meta: ModelMeta, column: ColumnMeta, dialect: DialectAdapter, defaults: ReadonlyMap<string, string>, creating: boolean): string {
  if (column.type === 'any') throw new ModelDefinitionError(`${meta.name}.${column.property} has no declared type: give it { type } to create its column`);
  const name = sourceText(column.column);
  if (column.primary && column.type === 'integer') return `t.increments(${name})`;
  if (column.primary && column.type === 'bigint') return `t.bigIncrements(${name})`;
  let line = dialect.schema.columnBuilder(column.type, column.column);
  if (column.primary) return `${line}.primary().notNullable()`;
  const fallback = defaults.get(column.property);
  if (fallback !== undefined) line += `.defaultTo(${fallback})`;
  if (column.nullable === true) line += '.nullable()';
  // A NOT NULL column added to a table that has rows needs a default (SQLite refuses it even on an empty table).
  else if (column.nullable === false && (creating || fallback !== undefined)) line += '.notNullable()';
  else if (column.nullable === false) line += ' // declared not null: fill it, then make it NOT NULL (an added column without a default cannot be)';
  return line;
}

/** Field initializers with a constant value (`active = true`, `score = 10`), as source literals by property. */
function fieldDefaults(meta: ModelMeta): Map<string, string> {
  const defaults = new Map<string, string>();
  const probe = new (meta.ctor as new () => Record<string, unknown>)();
  for (const column of meta.initializedColumns) {
    const value = probe[column.property];
    if (typeof value === 'string') defaults.set(column.property, sourceText(value));
    else if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) defaults.set(column.property, String(value));
    else if (typeof value === 'bigint') defaults.set(column.property, sourceText(value.toString()));
  }
  return defaults;
}

function sourceList(items: readonly string[]): string {
  return `[${items.map(sourceText).join(', ')}]`;
}
