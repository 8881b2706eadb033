import { Command } from 'commander';
import type { ConnectionManager } from '../connection/manager.js';
import { CONFIG_FILE_NAMES } from '../config/load-config.js';
import { dashboardCommand } from './commands/dashboard.js';
import { copyCommand } from './commands/copy.js';
import { healthCommand } from './commands/health.js';
import { makeMigrationCommand } from './commands/make-migration.js';
import { migrateCommand } from './commands/migrate.js';
import { inboxCommand } from './commands/inbox.js';
import { outboxCommand } from './commands/outbox.js';
import { rollbackCommand } from './commands/rollback.js';
import { schemaCheckCommand } from './commands/schema-check.js';
import { sagaCommand } from './commands/saga.js';
import { statusCommand } from './commands/status.js';
import { syncCommand } from './commands/sync.js';
import { txCommand } from './commands/tx.js';

/** The `polyrecord` command and its subcommands, acting on `manager`. */
export function buildProgram(manager: ConnectionManager): Command {
  const program = new Command('polyrecord')
    .description('Operate a polyrecord application: migrations per connection, schema checks, health, sync jobs, copying tables between connections, the outbox, in-doubt transactions, sagas, the operator dashboard')
    .option('--config <path>', `the config file (default: the nearest ${CONFIG_FILE_NAMES.join(', ')} upward)`)
    .option('--verbose', 'print stack traces of errors')
    // Commander exits by itself on a bad flag; this hands the decision (exit code 2) to runCli.
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const add of [migrateCommand, statusCommand, rollbackCommand, makeMigrationCommand, schemaCheckCommand, healthCommand, syncCommand, copyCommand, outboxCommand, inboxCommand, txCommand, sagaCommand, dashboardCommand]) add(program, manager);
  return program;
}
