import { OutboxRelay } from '../sync/outbox-relay.js';
import { nameList, OperationInputError } from './ops-errors.js';
import { opsScope, type OpsOptions } from './ops-options.js';

/** Relays started by {@link startRelays}. */
export interface RunningRelays {
  readonly relays: readonly OutboxRelay[];
  /** Stops every relay gracefully: deliveries under way finish, claimed events not started are handed back. */
  stop(): Promise<void>;
}

/**
 * Starts the outbox relays of the config's `relays` (those on `connection`, when named):
 * `workers` relays per entry (the option overrides the entry's `workers`, default 1), which
 * share the outbox without ever taking the same event. Call `stop()` to end them.
 *
 * @example
 * ```ts
 * const running = startRelays({ workers: 2 })
 * process.once('SIGTERM', () => void running.stop())
 * ```
 * @throws {OperationInputError} when the config has no relays (on that connection), or `workers` is not a whole number of 1 or more.
 */
export function startRelays(options: OpsOptions & { workers?: number; connection?: string } = {}): RunningRelays {
  const { manager, config } = opsScope(options);
  const { workers, connection } = options;
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) throw new OperationInputError('workers', `workers must be a whole number of 1 or more, got ${String(workers)}`);
  const entries = (config.relays ?? []).filter((entry) => connection === undefined || entry.connection === connection);
  if (entries.length === 0) {
    const known = [...new Set((config.relays ?? []).map((entry) => entry.connection))];
    throw new OperationInputError('relays', connection === undefined ? 'the config has no relays: add relays: [{ connection: "..." }]' : `the config has no relay on "${connection}"; relays are on ${nameList(known)}`, known);
  }
  const relays: OutboxRelay[] = [];
  for (const { workers: configured, ...settings } of entries) {
    for (let i = 0; i < (workers ?? configured ?? 1); i++) relays.push(new OutboxRelay({ ...settings, manager }));
  }
  for (const relay of relays) relay.start();
  return { relays, stop: async () => void (await Promise.all(relays.map((relay) => relay.stop()))) };
}
