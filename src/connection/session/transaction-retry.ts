import { ConfigError, ConnectionLostError, DeadlockError, QueryError, SerializationFailureError } from '../../errors.js';
import { resolveRetryPolicy, withRetry, type RetryPolicy } from '../../util/retry.js';

/** Options of `manager.transaction(name, fn, options)`, `Model.transaction(fn, options)` and `CrossDbTransaction.run(fn, options)`. */
export interface TransactionOptions {
  /**
   * Reruns the whole callback when the database gave up on the transaction: a deadlock, a
   * serialization failure, or a session lost before `COMMIT` was sent (then nothing was
   * committed). Never a single statement: PostgreSQL has aborted the transaction, MySQL has
   * rolled it back. A number is the attempts in all; an object sets
   * `{ attempts, baseMs, maxMs }` (default 3 attempts, 20 ms doubling up to 1,000 ms, with jitter).
   * Only the outermost transaction retries: a nested call is a savepoint of it.
   */
  retry?: number | Partial<RetryPolicy>;
}

const DEFAULT_TRANSACTION_RETRY: RetryPolicy = Object.freeze({ attempts: 3, baseMs: 20, maxMs: 1_000 });

/** Errors thrown where a commit may have happened (a COMMIT without an answer, a decision already logged): never retried. */
const uncertain = new WeakSet<object>();

/** Marks an error thrown after a commit may have been made: rerunning the transaction could write twice. */
export function markCommitUncertain(error: unknown): void {
  if (error !== null && typeof error === 'object') uncertain.add(error);
}

/** The retry policy `options` ask for, checked; undefined when they ask for none. */
export function transactionRetry(options: TransactionOptions | undefined): RetryPolicy | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw new ConfigError('options', 'transaction options must be an object like { retry: 3 }');
  const retry = options.retry;
  if (retry === undefined) return undefined;
  const given = typeof retry === 'number' ? { attempts: retry } : retry;
  return resolveRetryPolicy(given, DEFAULT_TRANSACTION_RETRY, (message) => new ConfigError('retry', message));
}

/** Whether a failed transaction may run again: the server undid it, and nothing of it can have committed. */
function retryable(error: unknown): boolean {
  if (error === null || typeof error !== 'object' || uncertain.has(error)) return false;
  const cause = (error as { cause?: unknown }).cause;
  // A cross-database transaction reports a branch's failure as its cause.
  return isUndone(error) || (!(error instanceof QueryError) && isUndone(cause) && !uncertain.has(cause as object));
}

function isUndone(error: unknown): boolean {
  return error instanceof DeadlockError || error instanceof SerializationFailureError || error instanceof ConnectionLostError;
}

/**
 * Runs `attempt` once, or under `policy` until it commits, fails for good, or runs out of
 * attempts; the last error then tells how many runs there were (`attempts`, and its message).
 */
export async function runRetried<T>(policy: RetryPolicy | undefined, attempt: () => Promise<T>): Promise<T> {
  if (policy === undefined) return attempt();
  let runs = 0;
  try {
    return await withRetry(
      policy,
      () => {
        runs++;
        return attempt();
      },
      retryable,
      true,
    );
  } catch (error) {
    if (runs > 1 && error instanceof Error) {
      Object.defineProperty(error, 'attempts', { value: runs, enumerable: true, configurable: true });
      error.message = `${error.message} (the transaction ran ${runs} times)`;
    }
    throw error;
  }
}
