import type { Command } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { deadEvents, outboxStats, retryDead } from '../../ops/outbox.js';
import { UsageError } from '../exit-codes.js';
import { cell, formatAge, loadProject, say, sayJson, table, wholeNumber } from '../context.js';
import { outboxRelayCommand } from './outbox-relay.js';

/** `polyrecord outbox stats|dead|retry|relay`: the transactional outbox of every connection. */
export function outboxCommand(program: Command, manager: ConnectionManager): void {
  const outbox = program.command('outbox').description('the outbox of every connection that has one: backlog, dead events, retries, relays');

  outbox
    .command('stats')
    .description('pending, in-flight and dead events per connection and model, and the age of the oldest pending one (exit 1 when a connection cannot be read)')
    .option('--json', 'print as JSON: [{ connection, models: [{ model, pending, inFlight, dead, oldestPendingAt, oldestPendingAgeMs }], error? }]')
    .action(async (options: { json?: boolean }, command: Command) => {
      await loadProject(command, manager);
      const stats = await outboxStats({ manager });
      if (options.json) sayJson(stats);
      else {
        const rows = table(['connection', 'model', 'pending', 'in flight', 'dead', 'oldest pending']);
        for (const { connection, models, error } of stats) {
          if (error !== undefined) rows.push([connection, `(cannot read: ${cell(error)})`, '', '', '', '']);
          else if (models.length === 0) rows.push([connection, '(empty)', '0', '0', '0', '']);
          for (const m of models) rows.push([connection, m.model, String(m.pending), String(m.inFlight), String(m.dead), formatAge(m.oldestPendingAgeMs)]);
        }
        say(stats.length === 0 ? 'no connection has an outbox table' : rows.toString());
      }
      const failed = stats.filter((entry) => entry.error !== undefined).map((entry) => entry.connection);
      if (failed.length > 0) throw new Error(`cannot read the outbox of ${failed.join(', ')}`);
    });

  outbox
    .command('dead')
    .description('dead events (delivery gave up after the attempts), oldest first, with their last error')
    .option('--model <name>', 'only events of this model')
    .option('-c, --connection <name>', 'only the outbox of this connection')
    .option('--limit <n>', 'at most n events (default 100)', wholeNumber(1))
    .option('--json', 'print as JSON: [{ connection, id, model, key, type, attempts, lastError, createdAt }]')
    .action(async (options: { model?: string; connection?: string; limit?: number; json?: boolean }, command: Command) => {
      await loadProject(command, manager);
      const events = await deadEvents({ manager, model: options.model, connection: options.connection, limit: options.limit });
      if (options.json) return sayJson(events);
      if (events.length === 0) return say('no dead events');
      const rows = table(['id', 'connection', 'model', 'key', 'event', 'attempts', 'written', 'last error']);
      for (const e of events) rows.push([e.id, e.connection, e.model, cell(e.key, 30), e.type, String(e.attempts), e.createdAt.toISOString(), cell(e.lastError)]);
      say(rows.toString());
    });

  outbox
    .command('retry')
    .description('put dead events back to pending with a fresh attempt count, so the relays deliver them again')
    .argument('[ids...]', 'ids of dead events (as `outbox dead` lists them)')
    .option('--all-dead', 'every dead event (of --connection, or of every connection)')
    .option('-c, --connection <name>', 'the outbox the ids belong to (needed when several connections have one)')
    .option('--json', 'print as JSON: { retried }')
    .action(async (ids: string[], options: { allDead?: boolean; connection?: string; json?: boolean }, command: Command) => {
      if (Boolean(options.allDead) === ids.length > 0) throw new UsageError('outbox retry: give the ids of dead events, or --all-dead (not both)');
      await loadProject(command, manager);
      const retried = await retryDead(options.allDead ? 'all' : ids, { manager, connection: options.connection });
      if (options.json) sayJson({ retried });
      else say(`retried ${retried} dead event${retried === 1 ? '' : 's'}`);
      if (!options.allDead && retried < ids.length) throw new Error(`${ids.length - retried} of the ${ids.length} ids given are not dead events${options.connection ? ` on "${options.connection}"` : ''}`);
    });

  outboxRelayCommand(outbox, manager);
}
