import type { Command } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { migrate } from '../../migrations/migrator.js';
import { MigrationError } from '../../migrations/migration-error.js';
import type { MigrationRun } from '../../migrations/migration-types.js';
import { collect, loadProject, say, sayJson } from '../context.js';

/** `polyrecord migrate`: applies pending migrations, connection by connection. */
export function migrateCommand(program: Command, manager: ConnectionManager): void {
  program
    .command('migrate')
    .description('apply pending migrations on every connection that has some, in config order')
    .option('-c, --connection <name>', 'only this connection (repeatable)', collect)
    .option('--json', 'print what ran as JSON')
    .action(async (options: { connection?: string[]; json?: boolean }, command: Command) => {
      await loadProject(command, manager);
      try {
        const runs = await migrate({ manager, connections: options.connection });
        if (options.json) sayJson(runs);
        else printRuns(runs, 'applied');
      } catch (error) {
        if (error instanceof MigrationError && !options.json) printRuns(error.completed, 'applied');
        throw error;
      }
    });
}

/** One line per connection: what ran, or that nothing did; a warning where DDL is not transactional. */
export function printRuns(runs: readonly MigrationRun[], verb: 'applied' | 'rolled back'): void {
  for (const run of runs) {
    say(run.files.length === 0 ? `${run.connection}: nothing to do` : `${run.connection}: ${verb} batch ${run.batch}: ${run.files.join(', ')}`);
    if (run.files.length > 0 && !run.transactionalDdl) process.stderr.write(`warning: ${run.connection} commits DDL implicitly: a migration that fails there is not undone\n`);
  }
}
