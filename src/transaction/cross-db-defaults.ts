import type { Connection } from '../connection/connection.js';
import type { ConnectionManager } from '../connection/manager.js';
import { ConfigError } from '../errors.js';
import type { CoordinatorLog } from './coordinator-log.js';
import { TableLog } from './table-log.js';

/** What `CrossDbTransaction.configure` sets for `run`, `recover` and `startRecovery`. */
export interface Defaults {
  log?: CoordinatorLog | string;
  nodeId?: string;
  timeoutMs?: number;
}

let defaults: Defaults = {};

/** Merges `options` into the defaults (`CrossDbTransaction.configure`). */
export function configureCrossDb(options: Defaults): void {
  defaults = { ...defaults, ...options };
}

// One TableLog per connection, so `log: 'txlog'` checks its table once, not per transaction. Keyed by the
// connection, not its name: a name configured again (after remove/closeAll) may be another database.
const tableLogs = new WeakMap<Connection, TableLog>();

/** Turns `log` (an object or a connection name) into a log. */
export function toLog(log: CoordinatorLog | string | undefined, manager: ConnectionManager): CoordinatorLog {
  const chosen = log ?? defaults.log;
  if (chosen === undefined) throw new ConfigError('log', 'a cross-database transaction needs a coordinator log: pass { log } or call CrossDbTransaction.configure({ log })');
  if (typeof chosen !== 'string') return chosen;
  const connection = manager.get(chosen);
  let table = tableLogs.get(connection);
  if (!table) tableLogs.set(connection, (table = new TableLog({ connection: chosen, manager })));
  return table;
}

/** The configured defaults (for recovery). */
export function crossDbDefaults(): Readonly<Defaults> {
  return defaults;
}
