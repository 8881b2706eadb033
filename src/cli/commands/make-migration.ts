import type { Command } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { makeMigration } from '../../migrations/make-migration.js';
import { makeMigrationFromModels } from '../../schema/model-migration.js';
import { loadProject, say } from '../context.js';
import { UsageError } from '../exit-codes.js';

/**
 * `polyrecord make:migration <name> --connection x [--from-models [Model...]]`: writes an empty,
 * timestamped migration, or one that creates what the models' tables lack.
 */
export function makeMigrationCommand(program: Command, manager: ConnectionManager): void {
  program
    .command('make:migration')
    .description("write a migration into the connection's migration folder (.ts when the config file is TypeScript, else .mjs): empty, or with --from-models what the models' tables lack")
    .argument('<name>', 'what the migration does, e.g. create_users')
    .argument('[models...]', 'with --from-models: the model class names to create (default: every model of the config on the connection)')
    .requiredOption('-c, --connection <name>', 'the connection it belongs to')
    .option('--from-models', "create the models' missing tables, columns and unique keys for the connection's dialect")
    .action(async (name: string, models: string[], options: { connection: string; fromModels?: boolean }, command: Command) => {
      const { file } = await loadProject(command, manager);
      const kind = file.endsWith('.ts') ? 'ts' : 'mjs';
      if (!options.fromModels) {
        if (models.length > 0) throw new UsageError(`model names (${models.join(' ')}) need --from-models`);
        return say(makeMigration(name, { manager, connection: options.connection, kind }));
      }
      const written = await makeMigrationFromModels(name, { manager, connection: options.connection, models, kind });
      say(written ?? `${options.connection}: nothing to create, the tables of these models lack nothing`);
    });
}
