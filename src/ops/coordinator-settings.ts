import type { ConnectionManager } from '../connection/manager.js';
import type { PolyrecordConfig } from '../config/define-config.js';
import type { CoordinatorLog } from '../transaction/coordinator-log.js';
import { TableLog } from '../transaction/table-log.js';

/**
 * The coordinator log the config names (`coordinator.log`): the log object itself, or a
 * `TableLog` on the manager's connection for the `{ connection, table? }` form; undefined
 * without one.
 */
export function configuredLog(config: PolyrecordConfig, manager: ConnectionManager): CoordinatorLog | undefined {
  const log = config.coordinator?.log;
  if (log === undefined) return undefined;
  // Told apart by shape: a config file may have loaded another copy of polyrecord, whose TableLog is another class.
  if (typeof (log as Partial<CoordinatorLog>).decide === 'function') return log as CoordinatorLog;
  const { connection, table } = log as { connection: string; table?: string };
  return new TableLog({ connection, table, manager });
}
