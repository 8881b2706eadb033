import { SagaDefinitionError, SagaTakenOverError } from './saga-errors.js';
import { logJournal } from './saga-journal.js';
import type { SagaLog, SagaRunRecord, SagaRunStatus } from './saga-log.js';
import { currentOwner, enterRun, leaveRun, ownerIsGone, type SagaOwner } from './saga-owner.js';
import { describeError, SagaExecution, type SagaOutcome, type SagaPlan } from './saga-runner.js';

/** What `saga.resume()` did, by run id. */
export interface SagaResumeSummary {
  /** Runs finished forward (`onResume: 'finish'`). */
  readonly completed: string[];
  /** Runs whose completed steps were all undone. */
  readonly compensated: string[];
  /** Runs whose compensation could not finish (an undo kept failing): still recorded as failed, for a later `resume()`. */
  readonly failed: string[];
  /**
   * Unfinished runs left alone: worked on right now by this or another live process of
   * this host, owned by a process of another host (see `staleMs`), or claimed first by
   * another resuming process.
   */
  readonly skipped: string[];
}

/** @internal `saga.resume()`: takes over every unfinished run of the saga whose owner is gone, one after another. */
export async function resumeRuns(plan: SagaPlan, log: SagaLog, onResume: 'finish' | 'compensate', staleMs: number | undefined): Promise<SagaResumeSummary> {
  const summary: SagaResumeSummary = { completed: [], compensated: [], failed: [], skipped: [] };
  const me = currentOwner();
  for (const record of await log.unfinished(plan.name)) {
    if (record.sagaName !== plan.name) continue;
    if (!mayTakeOver(record, me, staleMs) || !enterRun(record.runId)) {
      summary.skipped.push(record.runId);
      continue;
    }
    try {
      const outcome = await resumeRun(plan, log, record, onResume, me);
      summary[outcome ? outcome.status : 'skipped'].push(record.runId);
    } catch (error) {
      if (!(error instanceof SagaTakenOverError)) throw error;
      summary.skipped.push(record.runId);
    } finally {
      leaveRun(record.runId);
    }
  }
  return summary;
}

/** Whether nobody can be working on the run any more. */
function mayTakeOver(record: SagaRunRecord, me: SagaOwner, staleMs: number | undefined): boolean {
  // A failed run has ended: its owner gave up on it (claiming it still races fairly).
  if (record.status === 'failed') return true;
  const gone = ownerIsGone(record.owner, record.runId, me);
  if (gone !== undefined) return gone;
  return staleMs !== undefined && Date.now() - record.updatedAt.getTime() >= staleMs;
}

/** Claims one run and finishes or compensates it; undefined when another process claimed it first. */
async function resumeRun(plan: SagaPlan, log: SagaLog, record: SagaRunRecord, onResume: 'finish' | 'compensate', me: SagaOwner): Promise<SagaOutcome | undefined> {
  const target: SagaRunStatus = record.status === 'running' && onResume === 'finish' ? 'running' : 'compensating';
  if (!(await log.claim(record.runId, { status: record.status, owner: record.owner }, { status: target, owner: me }))) return undefined;
  const journal = logJournal(log, plan.name, record.runId, me, plan.retry);
  const interrupted = record.status === 'running' ? (record.currentStep ?? undefined) : undefined;
  let completed: Map<string, unknown>;
  try {
    completed = completedSteps(plan, record);
  } catch (error) {
    // The definition no longer matches the run: leave it failed for a fixed definition.
    await journal.write({ status: 'failed', results: record.results, currentStep: record.currentStep, error: describeError(error) });
    return { status: 'failed', failedStep: interrupted, stepError: undefined, undoStep: undefined, error };
  }
  const execution = new SagaExecution(plan, journal, record.input, completed);
  return target === 'running' ? execution.forward() : execution.compensate(interrupted, undefined);
}

/** The recorded results in step order; throws if the run names a step the saga does not define. */
function completedSteps(plan: SagaPlan, record: SagaRunRecord): Map<string, unknown> {
  const known = new Set(plan.steps.map((step) => step.name));
  const unknown = Object.keys(record.results).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new SagaDefinitionError(plan.name, `run ${record.runId} recorded step(s) ${unknown.map((n) => `"${n}"`).join(', ')} that the saga no longer defines; it cannot be resumed until they are defined again`);
  }
  const completed = new Map<string, unknown>();
  for (const step of plan.steps) if (Object.hasOwn(record.results, step.name)) completed.set(step.name, record.results[step.name]);
  return completed;
}
