import type { Command } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { inboxDeadEvents, retryInboxDead } from '../../ops/inbox.js';
import { UsageError } from '../exit-codes.js';
import { cell, loadProject, say, sayJson, table, wholeNumber } from '../context.js';

/** `polyrecord inbox dead|retry`: the dead events of the inbox consumers (docs/brokers.md). */
export function inboxCommand(program: Command, manager: ConnectionManager): void {
  const inbox = program.command('inbox').description('the inbox of every connection that has one: dead events, and handing them back to their consumer');

  inbox
    .command('dead')
    .description('dead inbox events (a consumer gave up after its attempts), oldest first, with their last error')
    .option('--consumer <name>', "only this consumer's events (its name in the inbox)")
    .option('-c, --connection <name>', 'only the inbox of this connection')
    .option('--limit <n>', 'at most n events (default 100)', wholeNumber(1))
    .option('--json', 'print as JSON: [{ connection, consumer, id, model, key, attempts, lastError, deadAt }]')
    .action(async (options: { consumer?: string; connection?: string; limit?: number; json?: boolean }, command: Command) => {
      await loadProject(command, manager);
      const events = await inboxDeadEvents({ manager, consumer: options.consumer, connection: options.connection, limit: options.limit });
      if (options.json) return sayJson(events);
      if (events.length === 0) return say('no dead inbox events');
      const rows = table(['id', 'connection', 'consumer', 'model', 'key', 'attempts', 'dead since', 'last error']);
      for (const e of events) rows.push([e.id, e.connection, e.consumer, e.model, cell(e.key, 30), String(e.attempts), e.deadAt.toISOString(), cell(e.lastError)]);
      say(rows.toString());
    });

  inbox
    .command('retry')
    .description('hand dead inbox events back to their consumer: a running InboxConsumer of that name applies them within its retryPollMs')
    .argument('[ids...]', 'event ids of dead events (as `inbox dead` lists them)')
    .option('--all-dead', 'every dead event (of --consumer / --connection, or of every consumer)')
    .option('--consumer <name>', 'the consumer the ids belong to (needed when several have dead events with these ids)')
    .option('-c, --connection <name>', 'only the inbox of this connection')
    .option('--json', 'print as JSON: { retried }')
    .action(async (ids: string[], options: { allDead?: boolean; consumer?: string; connection?: string; json?: boolean }, command: Command) => {
      if (Boolean(options.allDead) === ids.length > 0) throw new UsageError('inbox retry: give the ids of dead events, or --all-dead (not both)');
      await loadProject(command, manager);
      const retried = await retryInboxDead(options.allDead ? 'all' : ids, { manager, consumer: options.consumer, connection: options.connection });
      if (options.json) sayJson({ retried });
      else say(`handed ${retried} dead event${retried === 1 ? '' : 's'} back to the consumer`);
      if (!options.allDead && retried < ids.length) throw new Error(`${ids.length - retried} of the ${ids.length} ids given are not dead inbox events${options.consumer ? ` of "${options.consumer}"` : ''}`);
    });
}
