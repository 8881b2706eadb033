import type { ConnectionManager } from '../connection/manager.js';

/** How long closing connections may take after a signal before the process exits anyway. */
const CLOSE_GRACE_MS = 5_000;
/** How long a command that stops by itself (a sync job finishing its batch, a relay its deliveries) may take before the process exits anyway. */
const STOP_GRACE_MS = 15_000;

/** The signals the command handles, with their numbers (exit code 128 + number). */
const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;
export type StopSignal = keyof typeof SIGNALS;

// Commands that stop by themselves when asked (see stopOnSignals); empty for the others.
const stoppable = new Set<AbortController>();

/**
 * Lets a long-running command stop cleanly on SIGINT or SIGTERM: the returned signal is
 * aborted (its reason is the signal's name) and the command is left to finish or checkpoint
 * its current batch, release what it holds and return, instead of having its connections
 * closed under it. Call `release()` when the command is done.
 */
export function stopOnSignals(): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  stoppable.add(controller);
  return { signal: controller.signal, release: () => stoppable.delete(controller) };
}

/**
 * Resolves with the first SIGINT or SIGTERM the program receives (once `exitOnSignals`
 * handles them): a command that runs until stopped awaits it, then stops gracefully.
 */
export function stopRequested(): Promise<StopSignal> {
  const { signal, release } = stopOnSignals();
  return new Promise((resolve) =>
    signal.addEventListener(
      'abort',
      () => {
        release();
        resolve(signal.reason as StopSignal);
      },
      { once: true },
    ),
  );
}

/** The exit code of a process stopped by `signal`: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: StopSignal): number {
  return 128 + SIGNALS[signal];
}

/**
 * On SIGINT or SIGTERM: a command that can stop by itself ({@link stopOnSignals},
 * {@link stopRequested}) is asked to, and the program ends as it returns (or after 15
 * seconds). Otherwise every connection is closed (a migration in flight is cut off, and
 * rolled back by its transaction where the dialect has transactional DDL) and the process
 * exits with 128 + the signal number (or after 5 seconds). A second signal exits at once.
 */
export function exitOnSignals(manager: ConnectionManager): void {
  for (const signal of Object.keys(SIGNALS) as StopSignal[]) {
    const code = signalExitCode(signal);
    process.once(signal, () => {
      process.once(signal, () => process.exit(code));
      if (stoppable.size > 0) {
        process.stderr.write(`polyrecord: ${signal}, stopping (after the current batch; again to exit at once)\n`);
        for (const controller of stoppable) controller.abort(signal);
        setTimeout(() => process.exit(code), STOP_GRACE_MS).unref();
        return;
      }
      process.stderr.write(`polyrecord: ${signal}, closing connections\n`);
      setTimeout(() => process.exit(code), CLOSE_GRACE_MS).unref();
      void manager.closeAll().finally(() => process.exit(code));
    });
  }
}
