import { SagaTakenOverError } from './saga-errors.js';
import type { SagaLog, SagaRunUpdate } from './saga-log.js';
import { currentOwner, type SagaOwner } from './saga-owner.js';
import { withRetry } from '../util/retry.js';
import type { SagaRetryPolicy } from './saga-retry.js';

/**
 * @internal The progress record of one run: writes to the saga's log, or nothing for a
 * saga without one. Failed log writes are retried with the saga's policy; a write that
 * finds the run owned by another process throws {@link SagaTakenOverError}.
 */
export interface Journal {
  /** The run's id in the log; undefined without a log. */
  readonly runId: string | undefined;
  /** Whether a log is kept (step results must then be JSON data). */
  readonly persistent: boolean;
  write(update: SagaRunUpdate): Promise<void>;
}

const NO_LOG: Journal = { runId: undefined, persistent: false, write: async () => undefined };

/** @internal A journal that records nothing. */
export function memoryJournal(): Journal {
  return NO_LOG;
}

/** @internal Records a new run (status running, at `firstStep`) and returns its journal. */
export async function startJournal(log: SagaLog, run: { runId: string; sagaName: string; input: unknown; firstStep: string }, retry: SagaRetryPolicy): Promise<Journal> {
  const now = new Date();
  const owner = currentOwner();
  await log.create({ runId: run.runId, sagaName: run.sagaName, status: 'running', input: run.input, results: {}, currentStep: run.firstStep, error: null, owner, createdAt: now, updatedAt: now });
  return logJournal(log, run.sagaName, run.runId, owner, retry);
}

/** @internal The journal of a run this process has claimed. */
export function logJournal(log: SagaLog, sagaName: string, runId: string, owner: SagaOwner, retry: SagaRetryPolicy): Journal {
  return {
    runId,
    persistent: true,
    async write(update) {
      const written = await withRetry(retry, () => log.update(runId, owner, update));
      if (!written) throw new SagaTakenOverError(sagaName, runId);
    },
  };
}
