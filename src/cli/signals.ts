import type { ConnectionManager } from '../connection/manager.js';

/** How long closing connections (or a long-running command's graceful stop) may take after a signal before the process exits anyway. */
const CLOSE_GRACE_MS = 5_000;

// A long-running command's own way to stop on the first signal (see stopRequested), if one is waiting.
let stopper: ((signal: NodeJS.Signals) => void) | undefined;

/**
 * On SIGINT or SIGTERM: close every connection (a migration in flight is cut off, and rolled
 * back by its transaction where the dialect has transactional DDL) and exit with 128 + the
 * signal number. A long-running command waiting in {@link stopRequested} stops by itself
 * instead, and the program ends as the command returns. A second signal exits at once, and
 * so does a close or stop that takes longer than 5 seconds.
 */
export function exitOnSignals(manager: ConnectionManager): void {
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
    process.once(signal, () => {
      process.once(signal, () => process.exit(128 + number));
      setTimeout(() => process.exit(128 + number), CLOSE_GRACE_MS).unref();
      if (stopper) {
        process.stderr.write(`polyrecord: ${signal}, stopping\n`);
        stopper(signal);
        return;
      }
      process.stderr.write(`polyrecord: ${signal}, closing connections\n`);
      void manager.closeAll().finally(() => process.exit(128 + number));
    });
  }
}

/**
 * Resolves with the first SIGINT or SIGTERM the program receives (once `exitOnSignals`
 * handles them): a command that runs until stopped awaits it, then stops gracefully.
 */
export function stopRequested(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    stopper = (signal) => {
      stopper = undefined;
      resolve(signal);
    };
  });
}
