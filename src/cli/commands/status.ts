import type { Command } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { migrationStatus } from '../../migrations/migrator.js';
import { collect, loadProject, say, sayJson, table } from '../context.js';

/** `polyrecord migrate:status`: applied and pending migrations per connection. */
export function statusCommand(program: Command, manager: ConnectionManager): void {
  program
    .command('migrate:status')
    .description('list applied and pending migrations per connection')
    .option('-c, --connection <name>', 'only this connection (repeatable)', collect)
    .option('--json', 'print as JSON: [{ connection, applied, pending }]')
    .action(async (options: { connection?: string[]; json?: boolean }, command: Command) => {
      await loadProject(command, manager);
      const statuses = await migrationStatus({ manager, connections: options.connection });
      if (options.json) return sayJson(statuses);
      const rows = table(['connection', 'migration', 'state']);
      for (const { connection, applied, pending } of statuses) {
        for (const file of applied) rows.push([connection, file, 'applied']);
        for (const file of pending) rows.push([connection, file, 'pending']);
        if (applied.length + pending.length === 0) rows.push([connection, '(none)', '']);
      }
      say(rows.toString());
    });
}
