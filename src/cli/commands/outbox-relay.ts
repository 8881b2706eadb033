import type { Command } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { startRelays } from '../../ops/relays.js';
import type { OutboxEvent } from '../../sync/outbox-relay.js';
import { loadProject, say, wholeNumber } from '../context.js';
import { stopRequested } from '../signals.js';

/** `polyrecord outbox relay`: runs the config's relays until SIGINT or SIGTERM, then stops them gracefully. */
export function outboxRelayCommand(outbox: Command, manager: ConnectionManager): void {
  outbox
    .command('relay')
    .description("run the config's outbox relays until Ctrl-C or SIGTERM; then deliveries under way finish, claimed events are handed back, and it exits 0")
    .option('--workers <n>', "relays per outbox (overrides each relay's workers; default 1)", wholeNumber(1))
    .option('-c, --connection <name>', 'only the relays of this outbox')
    .action(async (options: { workers?: number; connection?: string }, command: Command) => {
      const { config } = await loadProject(command, manager);
      const running = startRelays({ manager, workers: options.workers, connection: options.connection });
      // Taken in the same synchronous stretch as the start: no signal can come in between.
      const stop = stopRequested();
      const counts = { delivered: 0, failed: 0, dead: 0 };
      const problem = (what: string, event: OutboxEvent, error: unknown) => process.stderr.write(`${what}: ${event.aggregate} ${event.key} (event ${event.id}, attempt ${event.attempts}): ${error instanceof Error ? error.message : String(error)}\n`);
      for (const relay of running.relays) {
        relay.events.on('delivered', () => void counts.delivered++);
        relay.events.on('failed', (event, error) => {
          counts.failed++;
          problem('failed', event, error);
        });
        relay.events.on('dead', (event, error) => {
          counts.dead++;
          problem('dead', event, error);
        });
        relay.events.on('error', (error) => process.stderr.write(`relay round failed, retrying: ${error instanceof Error ? error.message : String(error)}\n`));
      }
      const outboxes = new Set((config.relays ?? []).map((relay) => relay.connection).filter((name) => options.connection === undefined || name === options.connection));
      say(`relaying the outbox of ${[...outboxes].join(', ')} with ${running.relays.length} relay${running.relays.length === 1 ? '' : 's'} (Ctrl-C to stop)`);
      await stop;
      await running.stop();
      say(`stopped: delivered ${counts.delivered}, failed ${counts.failed}, dead ${counts.dead}`);
    });
}
