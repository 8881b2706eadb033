import { resolve } from 'node:path';
import type { Knex } from 'knex';
import { ConfigError } from '../errors.js';
import type { Connection } from '../connection/connection.js';
import { ConnectionManager } from '../connection/manager.js';
import { appliedConfig } from '../config/configure-from.js';
import { DirectoryMigrationSource } from './migration-source.js';
import type { MigrationOptions } from './migration-types.js';

/** The bookkeeping table of a connection whose config names none. */
export const DEFAULT_MIGRATIONS_TABLE = 'polyrecord_migrations';

/** One connection with migrations, and how knex's migrator reaches them. */
export interface MigrationTarget {
  readonly name: string;
  readonly connection: Connection;
  readonly directory: string;
  readonly knexConfig: Knex.MigratorConfig;
}

/**
 * The connections to migrate, in config order, every name checked before anything runs: an
 * unknown name throws ConnectionNotFoundError, a connection without migrations a ConfigError.
 */
export function migrationTargets(options: MigrationOptions): MigrationTarget[] {
  const manager = options.manager ?? ConnectionManager.default;
  const applied = appliedConfig(manager);
  const config = options.config ?? applied?.config;
  if (config === undefined) throw new ConfigError('migrations', 'no configuration: call configureFrom(config) first, or pass { config }');
  const baseDir = options.baseDir ?? applied?.baseDir ?? process.cwd();
  const all = Object.keys(config.migrations ?? {});
  const wanted = options.connections?.map((name) => manager.get(name).name);
  for (const name of wanted ?? []) if (!all.includes(name)) throw new ConfigError('connection', `connection "${name}" has no migrations in the config (it has: ${all.join(', ') || 'none'})`, name);
  return all
    .filter((name) => wanted === undefined || wanted.includes(name))
    .map((name) => {
      const settings = config.migrations![name]!;
      const directory = resolve(baseDir, settings.directory);
      return {
        name,
        connection: manager.get(name),
        directory,
        knexConfig: { migrationSource: new DirectoryMigrationSource(directory), tableName: settings.tableName ?? DEFAULT_MIGRATIONS_TABLE },
      };
    });
}
