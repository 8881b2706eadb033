import { ConfigError, ConnectionNotFoundError } from '../errors.js';
import { ConfigFileError } from '../config/config-errors.js';
import { OperationInputError } from '../ops/ops-errors.js';

/** The exit codes of the `polyrecord` command. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A command was called wrongly (a flag's value, a missing argument); nothing was changed. */
export class UsageError extends Error {}

/** A command stopped cleanly on SIGINT or SIGTERM; the process exits with 128 + the signal's number. */
export class StoppedError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * Usage errors, which the caller can fix by changing the command or the config file (an
 * unknown saga name, ids without their connection...), exit 2; a command stopped by a signal
 * exits 128 + its number; everything else (a database refused, a migration failed) exits 1.
 */
export function exitCodeOf(error: unknown): number {
  if (error instanceof StoppedError) return error.exitCode;
  const usage = error instanceof UsageError || error instanceof ConfigFileError || error instanceof ConfigError || error instanceof ConnectionNotFoundError || error instanceof OperationInputError;
  return usage ? EXIT.usage : EXIT.failure;
}
