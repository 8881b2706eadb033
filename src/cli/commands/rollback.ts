import type { Command } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { migrateRollback } from '../../migrations/migrator.js';
import { collect, loadProject, sayJson, wholeNumber } from '../context.js';
import { printRuns } from './migrate.js';

/** `polyrecord migrate:rollback`: reverts the last batch, or the last n migrations. */
export function rollbackCommand(program: Command, manager: ConnectionManager): void {
  program
    .command('migrate:rollback')
    .description('revert the last batch of migrations (or the last --step n) on each connection, last configured first')
    .option('-c, --connection <name>', 'only this connection (repeatable)', collect)
    .option('--step <n>', 'revert the last n migrations instead of the last batch', wholeNumber(1))
    .option('--json', 'print what was reverted as JSON')
    .action(async (options: { connection?: string[]; step?: number; json?: boolean }, command: Command) => {
      await loadProject(command, manager);
      const runs = await migrateRollback({ manager, connections: options.connection, step: options.step });
      if (options.json) sayJson(runs);
      else printRuns(runs, 'rolled back');
    });
}
