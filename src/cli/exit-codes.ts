import { ConfigError, ConnectionNotFoundError } from '../errors.js';
import { ConfigFileError } from '../config/config-errors.js';
import { OperationInputError } from '../ops/ops-errors.js';

/** The exit codes of the `polyrecord` command. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A command was called wrongly (a flag's value, a missing argument); nothing was changed. */
export class UsageError extends Error {}

/**
 * Usage errors, which the caller can fix by changing the command or the config file (an
 * unknown saga name, ids without their connection...), exit 2;
 * everything else (a database refused, a migration failed) exits 1.
 */
export function exitCodeOf(error: unknown): number {
  const usage = error instanceof UsageError || error instanceof ConfigFileError || error instanceof ConfigError || error instanceof ConnectionNotFoundError || error instanceof OperationInputError;
  return usage ? EXIT.usage : EXIT.failure;
}
