import type { RetryPolicy } from '../util/retry.js';

/** How saga undo steps (and saga log writes) are retried. */
export type SagaRetryPolicy = RetryPolicy;

/** The default saga policy: 5 tries, waiting 50, 100, 200 and 400 ms between them. */
export const DEFAULT_SAGA_RETRY: SagaRetryPolicy = Object.freeze({ attempts: 5, baseMs: 50, maxMs: 5_000 });
