import { setTimeout as sleep } from 'node:timers/promises';

/** How something is tried again: at most `attempts` tries, with exponential backoff between them. */
export interface RetryPolicy {
  /** Tries in all, the first included (at least 1). */
  readonly attempts: number;
  /** Wait before the second try, in ms; doubled before each further try. */
  readonly baseMs: number;
  /** Longest wait between two tries, in ms. */
  readonly maxMs: number;
}

/**
 * The wait before try `attempt + 1` (attempt counts from 1). With `jitter`, a random part of
 * the upper half is left out, so clients that failed together (both sides of a deadlock) do
 * not come back together.
 */
export function backoffMs(policy: RetryPolicy, attempt: number, jitter = false): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return jitter ? ceiling / 2 + Math.random() * (ceiling / 2) : ceiling;
}

/**
 * Calls `fn` until it resolves, `retryable` says an error is final, or `policy.attempts`
 * tries have failed; then rejects with the last error.
 */
export async function withRetry<T>(policy: RetryPolicy, fn: (attempt: number) => Promise<T>, retryable: (error: unknown) => boolean = () => true, jitter = false): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || !retryable(error)) throw error;
      await sleep(backoffMs(policy, attempt, jitter));
    }
  }
}

/**
 * Checks a user's `{ attempts?, baseMs?, maxMs? }` over `defaults`; `refuse` makes the
 * error the caller's API throws for a bad value.
 */
export function resolveRetryPolicy(given: unknown, defaults: RetryPolicy, refuse: (message: string) => Error): RetryPolicy {
  if (!given || typeof given !== 'object') throw refuse('option "retry" must be an object like { attempts: 5, baseMs: 50 }');
  for (const key of Object.keys(given)) {
    if (!(key in defaults)) throw refuse(`unknown retry option "${key}" (known: attempts, baseMs, maxMs)`);
  }
  const policy: Record<keyof RetryPolicy, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) policy[key as keyof RetryPolicy] = value;
  if (!Number.isInteger(policy.attempts) || (policy.attempts as number) < 1) throw refuse(`retry.attempts must be an integer of at least 1, got ${String(policy.attempts)}`);
  for (const key of ['baseMs', 'maxMs'] as const) {
    const value = policy[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw refuse(`retry.${key} must be a number of ms (0 or more), got ${String(value)}`);
  }
  return Object.freeze(policy as unknown as RetryPolicy);
}
