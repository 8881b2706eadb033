import type { ConnectionManager } from '../connection/manager.js';

/** How long closing connections may take after a signal before the process exits anyway. */
const CLOSE_GRACE_MS = 5_000;

/**
 * On SIGINT or SIGTERM: close every connection (a migration in flight is cut off, and rolled
 * back by its transaction where the dialect has transactional DDL) and exit with 128 + the
 * signal number. A second signal exits at once.
 */
export function exitOnSignals(manager: ConnectionManager): void {
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
    process.once(signal, () => {
      process.stderr.write(`polyrecord: ${signal}, closing connections\n`);
      process.once(signal, () => process.exit(128 + number));
      setTimeout(() => process.exit(128 + number), CLOSE_GRACE_MS).unref();
      void manager.closeAll().finally(() => process.exit(128 + number));
    });
  }
}
