import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { importFile } from '../config/import-file.js';
import { MigrationFileFailure } from './migration-error.js';

/** The extensions a migration file may have. */
export const MIGRATION_EXTENSIONS = ['.ts', '.mjs', '.js'] as const;

type Step = (knex: Knex) => Promise<unknown>;

/**
 * The migration files of one folder for knex's migrator. knex's own folder loader cannot load
 * TypeScript without a build step, so this one imports every file through the same loader as
 * the config file, and tags a failing file's error with its name.
 */
export class DirectoryMigrationSource implements Knex.MigrationSource<string> {
  constructor(readonly directory: string) {}

  async getMigrations(): Promise<string[]> {
    if (!existsSync(this.directory)) return [];
    return readdirSync(this.directory)
      .filter((file) => MIGRATION_EXTENSIONS.some((ext) => file.endsWith(ext)) && !file.endsWith('.d.ts'))
      .sort();
  }

  getMigrationName(file: string): string {
    return file;
  }

  // knex reads `config` from what this returns although its type does not declare it.
  async getMigration(file: string): Promise<Knex.Migration & { config?: { transaction?: boolean } }> {
    const module = await importFile(join(this.directory, file));
    const up = module.up as Step | undefined;
    const down = module.down as Step | undefined;
    if (typeof up !== 'function' || typeof down !== 'function') throw new MigrationFileFailure(file, new Error('a migration file must export functions up(knex) and down(knex)'));
    // knex's per-file settings: `export const config = { transaction: false }` runs this file outside a transaction.
    const config = module.config as { transaction?: boolean } | undefined;
    if (config !== undefined && (typeof config !== 'object' || config === null)) throw new MigrationFileFailure(file, new Error('a migration file\'s `config` export must be an object, e.g. { transaction: false }'));
    return { up: tagged(file, up), down: tagged(file, down), ...(config === undefined ? {} : { config }) };
  }
}

function tagged(file: string, step: Step): Step {
  return async (knex) => {
    try {
      return await step(knex);
    } catch (error) {
      throw new MigrationFileFailure(file, error);
    }
  };
}
