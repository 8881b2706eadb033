import { ConnectionManager } from '../connection/manager.js';
import { appliedConfig } from '../config/configure-from.js';
import type { PolyrecordConfig } from '../config/define-config.js';

/** What every operations function works on. */
export interface OpsOptions {
  /** The manager whose connections are inspected. Default `ConnectionManager.default`. */
  manager?: ConnectionManager;
  /** The configuration (coordinator, relays, sagas). Default: the one `configureFrom` applied to the manager. */
  config?: PolyrecordConfig;
}

/** The manager and configuration an operation uses. */
export interface OpsScope {
  readonly manager: ConnectionManager;
  readonly config: PolyrecordConfig;
}

/** Fills in the defaults of {@link OpsOptions}. */
export function opsScope(options: OpsOptions = {}): OpsScope {
  const manager = options.manager ?? ConnectionManager.default;
  return { manager, config: options.config ?? appliedConfig(manager)?.config ?? { connections: {} } };
}

/** The message of an error, for a report that goes on past it. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
