import type { Connection } from '../connection/connection.js';
import { ConnectionManager } from '../connection/manager.js';
import type { LiveColumn } from '../connection/dialects/schema-support.js';
import { appliedConfig } from '../config/configure-from.js';
import type { ColumnMeta, ModelMeta } from '../model/metadata.js';
import { ConfigError } from '../errors.js';
import { configModels } from './config-models.js';
import { hasUniqueKey, keyRequirements, type KeyRequirement } from './conflict-keys.js';
import { readLiveTable } from './live-table.js';
import type { CheckedModel, SchemaCheckReport, SchemaOptions, SchemaProblem } from './schema-types.js';

/** A model on the connection it lives on (aliases resolved). */
export interface PlacedModel {
  readonly meta: ModelMeta;
  readonly connection: Connection;
}

/** The models and key requirements of a check, limited to the connections asked for (every name checked first). */
export async function schemaScope(options: SchemaOptions): Promise<{ models: PlacedModel[]; requirements: KeyRequirement[]; manager: ConnectionManager }> {
  const manager = options.manager ?? ConnectionManager.default;
  const applied = appliedConfig(manager);
  const config = options.config ?? applied?.config;
  if (config === undefined && options.models === undefined) throw new ConfigError('models', 'no configuration: call configureFrom(config) first, or pass { config } or { models }');
  const metas = await configModels(options.models ?? config?.models, options.baseDir ?? applied?.baseDir ?? process.cwd());
  const wanted = options.connections === undefined ? undefined : new Set(options.connections.map((name) => manager.get(name).name));
  const place = (meta: ModelMeta, name = meta.connection!): PlacedModel => ({ meta, connection: (meta.manager ?? manager).get(name) });
  const requirements = (await keyRequirements(metas, config?.jobs, manager)).filter((r) => wanted === undefined || wanted.has(r.connection));
  // The copies that @SyncTo and jobs write are models too: compared even when the config does not list them.
  const placed = [...metas.map((meta) => place(meta)), ...requirements.map((r) => place(r.meta, r.connection))];
  const seen = new Set<string>();
  const models = placed.filter(({ meta, connection }) => {
    const key = `${connection.name}\u0000${meta.tableName}\u0000${meta.name}`;
    if (seen.has(key) || (wanted !== undefined && !wanted.has(connection.name))) return false;
    seen.add(key);
    return true;
  });
  return { models, requirements, manager };
}

/**
 * Compares every model of the configuration with its live table on its connection: a missing
 * table or column, a column type that does not hold the declared type (judged per dialect), a
 * nullability that differs from the declared one, and a missing unique key for the
 * `conflictKeys` of `@SyncTo` and of the config's `jobs`. Reads the catalogue only.
 *
 * @example
 * ```ts
 * configureFrom(config)
 * const report = await schemaCheck()
 * if (!report.ok) for (const p of report.problems) console.error(`${p.connection} ${p.model}: ${p.message}`)
 * ```
 * @throws {ConnectionNotFoundError} for an unknown connection name; {ConfigError} for models or jobs the config gets wrong.
 */
export async function schemaCheck(options: SchemaOptions = {}): Promise<SchemaCheckReport> {
  const { models, requirements } = await schemaScope(options);
  const checked: CheckedModel[] = [];
  const problems: SchemaProblem[] = [];
  for (const { meta, connection } of models) {
    const where = { connection: connection.name, model: meta.name, table: meta.tableName };
    checked.push(where);
    const live = await readLiveTable(connection, meta.tableName);
    if (!live) {
      problems.push({ ...where, kind: 'missing-table', severity: 'mismatch', message: `table ${meta.tableName} does not exist` });
      continue;
    }
    const columns = new Map(live.columns.map((column) => [column.name, column]));
    for (const column of meta.columns) {
      const found = columns.get(column.column);
      if (!found) problems.push({ ...where, kind: 'missing-column', severity: 'mismatch', column: column.column, declared: column.type, message: `column ${column.column} does not exist` });
      else problems.push(...columnProblems(where, column, found, connection));
    }
    for (const requirement of requirements) {
      if (requirement.meta !== meta || requirement.connection !== connection.name || hasUniqueKey(live.uniqueKeys, requirement.columns)) continue;
      const list = requirement.columns.join(', ');
      problems.push({ ...where, kind: 'missing-unique-key', severity: 'mismatch', columns: requirement.columns, declared: requirement.usedBy, message: `no unique index on (${list}), which ${requirement.usedBy} upserts by` });
    }
  }
  return { ok: !problems.some((p) => p.severity === 'mismatch'), checked, problems };
}

function columnProblems(where: CheckedModel, column: ColumnMeta, live: LiveColumn, connection: Connection): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  if (column.type !== 'any') {
    const fit = connection.dialect.schema.fit(column.type, live);
    if (fit.fit !== 'ok') problems.push({ ...where, kind: 'type', severity: fit.fit, column: column.column, declared: column.type, actual: live.type, message: fit.reason });
  }
  if (column.nullable !== undefined && column.nullable !== live.nullable) {
    const message = column.nullable ? 'the column is NOT NULL, but the model declares it nullable: writing null fails' : 'the column allows NULL, but the model declares it never null';
    problems.push({ ...where, kind: 'nullability', severity: 'mismatch', column: column.column, declared: nullText(column.nullable), actual: nullText(live.nullable), message });
  }
  return problems;
}

function nullText(nullable: boolean): string {
  return nullable ? 'null' : 'not null';
}
