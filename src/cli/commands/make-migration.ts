import type { Command } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { makeMigration } from '../../migrations/make-migration.js';
import { loadProject, say } from '../context.js';

/** `polyrecord make:migration <name> --connection x`: writes an empty, timestamped migration. */
export function makeMigrationCommand(program: Command, manager: ConnectionManager): void {
  program
    .command('make:migration')
    .description("write an empty migration into the connection's migration folder (.ts when the config file is TypeScript, else .mjs)")
    .argument('<name>', 'what the migration does, e.g. create_users')
    .requiredOption('-c, --connection <name>', 'the connection it belongs to')
    .action(async (name: string, options: { connection: string }, command: Command) => {
      const { file } = await loadProject(command, manager);
      say(makeMigration(name, { manager, connection: options.connection, kind: file.endsWith('.ts') ? 'ts' : 'mjs' }));
    });
}
