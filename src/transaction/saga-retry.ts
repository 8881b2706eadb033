import { setTimeout as sleep } from 'node:timers/promises';

/** How undo steps (and saga log writes) are retried: exponential backoff. */
export interface SagaRetryPolicy {
  /** Tries in all, the first included (at least 1). Default 5. */
  readonly attempts: number;
  /** Wait before the second try, in ms; doubled before each further try. Default 50. */
  readonly baseMs: number;
  /** Longest wait between two tries, in ms. Default 5000. */
  readonly maxMs: number;
}

/** The default policy: 5 tries, waiting 50, 100, 200 and 400 ms between them. */
export const DEFAULT_SAGA_RETRY: SagaRetryPolicy = Object.freeze({ attempts: 5, baseMs: 50, maxMs: 5_000 });

/** The wait before try `attempt + 1` (attempt counts from 1). */
export function backoffMs(policy: SagaRetryPolicy, attempt: number): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
}

/** Calls `fn` until it resolves or `policy.attempts` tries have failed; then rejects with the last error. */
export async function withRetry<T>(policy: SagaRetryPolicy, fn: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= policy.attempts) throw error;
      await sleep(backoffMs(policy, attempt));
    }
  }
}
