/**
 * Sagas: a business operation spanning several connections as a series of steps, each
 * committed in its own local transaction, with an undo per step that compensates it if
 * a later step fails. See {@link Saga}.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { currentFrame } from '../context/scope.js';
import { SagaError, TransactionError } from '../errors.js';
import { SagaDefinitionError, type SagaSerializationError } from './saga-errors.js';
import { memoryJournal, startJournal } from './saga-journal.js';
import { assertJsonData } from './saga-json.js';
import type { SagaLog } from './saga-log.js';
import { resolveResumeOptions, resolveSagaOptions, type ResolvedSagaOptions, type SagaOptions, type SagaResumeOptions } from './saga-options.js';
import { enterRun, leaveRun } from './saga-owner.js';
import { resumeRuns, type SagaResumeSummary } from './saga-resume.js';
import { describeError, SagaExecution, type SagaOutcome, type SagaPlan } from './saga-runner.js';
import { defineStep, validateSagaName, type SagaStepDefinition, type SagaStepFn, type SagaUndoFn } from './saga-steps.js';

/**
 * A saga: named steps run in order, each doing its work in its own local transaction on
 * whatever connection it needs, each with an undo. If a step fails, the undos of the
 * steps completed before it run in reverse order (each retried with exponential backoff)
 * and `run()` rejects with a {@link SagaError}: status `'compensated'`, or `'failed'` if
 * an undo kept failing.
 *
 * With a `log` (a connection name or a {@link SagaLog}) every run is recorded, with its
 * input and each step's result, after every step; after a crash, `resume()` on the same
 * definition finishes or compensates the runs that were cut off. The input and the step
 * results must then be plain JSON data (a {@link SagaSerializationError} says which value
 * is not); undos receive the results as read back from the log.
 *
 * A crash can fall between a step's commit and the log write that records it: such a
 * step is run again (`onResume: 'finish'`) or is not undone (`'compensate'`). Make steps
 * idempotent where that matters, e.g. keyed on `context.runId`; undos must be idempotent
 * (they are retried, and may run again after a crash).
 *
 * Do not call `run()` or `resume()` inside a transaction: each step needs its own.
 *
 * @example
 * ```ts
 * const createUser = new Saga<{ email: string }>('create-user', { log: 'primary', onResume: 'compensate' })
 *   .step(
 *     'user',
 *     async ({ email }) => ({ id: (await User.create({ email })).id }),
 *     async ({ id }) => { await User.where({ id }).delete() },
 *   )
 *   .step(
 *     'analytics',
 *     async ({ email }, { user }) => {
 *       const [id] = await ConnectionManager.get('analytics').knex('contacts').insert({ user_id: user.id, email })
 *       return { id }
 *     },
 *     async ({ id }) => { await ConnectionManager.get('analytics').knex('contacts').where({ id }).delete() },
 *   )
 *
 * const { user } = await createUser.run({ email: 'a@b.c' }) // or rejects with a SagaError
 * // At startup, after a crash:
 * const { compensated, failed } = await createUser.resume()
 * ```
 */
export class Saga<Input = unknown, Results extends object = {}> {
  /** The saga's name: runs in the log belong to it, and `resume()` takes over runs of this name. */
  readonly name: string;
  readonly #options: ResolvedSagaOptions;
  readonly #steps: SagaStepDefinition[] = [];

  /** Validates the name and options now; a {@link SagaDefinitionError} says what is wrong. */
  constructor(name: string, options?: SagaOptions) {
    this.name = validateSagaName(name);
    this.#options = resolveSagaOptions(this.name, options);
  }

  /**
   * Adds a step (names are unique). `run(input, results, context)` does the work and
   * resolves with a result (plain JSON data when the saga has a log); `undo(result,
   * input, context)` compensates it. Leave `undo` out for a step with nothing to undo
   * (a read, or the last step). Returns this saga, typed with the new result.
   */
  step<Name extends string, Result>(
    name: Name,
    run: SagaStepFn<Input, Results, Result>,
    undo?: SagaUndoFn<Input, Awaited<Result>>,
  ): Saga<Input, Results & { [K in Name]: Awaited<Result> }> {
    this.#steps.push(defineStep(this.name, this.#steps, name, run, undo));
    return this as unknown as Saga<Input, Results & { [K in Name]: Awaited<Result> }>;
  }

  /** The step names, in order. */
  get steps(): string[] {
    return this.#steps.map((step) => step.name);
  }

  /** The saga's log, if it has one. */
  get log(): SagaLog | undefined {
    return this.#options.log;
  }

  /**
   * Runs the steps in order and resolves with their results by step name. If a step
   * fails, undoes the completed ones (last first) and rejects with a {@link SagaError}
   * (`status` `'compensated'`, or `'failed'` if an undo kept failing; `cause` is the
   * step's or the undo's error). With a log, an input that is not JSON data is rejected
   * with a {@link SagaSerializationError}, and a log that cannot record the new run
   * rejects with its own error, both before any step runs.
   */
  async run(input: Input): Promise<Results> {
    assertOutsideTransaction(this.name, 'run');
    const plan = this.#plan();
    const { log, retry } = this.#options;
    if (!log) return finish(plan, undefined, await new SagaExecution(plan, memoryJournal(), input).forward());
    assertJsonData(this.name, input, 'the input', 'input');
    const runId = randomUUID();
    enterRun(runId);
    try {
      const journal = await startJournal(log, { runId, sagaName: this.name, input, firstStep: plan.steps[0]!.name }, retry);
      return finish(plan, runId, await new SagaExecution(plan, journal, input).forward());
    } finally {
      leaveRun(runId);
    }
  }

  /**
   * Takes over every unfinished run of this saga (same name) recorded in its log whose
   * process is gone: a run cut off while going forward is compensated, or finished with
   * `onResume: 'finish'`; a run cut off while compensating, or failed, is compensated.
   * Runs still being worked on by a live process of this host are left alone, as are
   * runs of other hosts unless `staleMs` says they are abandoned. Claims are atomic, so
   * several processes may resume at once. Resolves with what happened, by run id.
   *
   * @example
   * ```ts
   * const summary = await saga.resume()
   * if (summary.failed.length) console.error('sagas still to compensate', summary.failed)
   * ```
   */
  async resume(options?: SagaResumeOptions): Promise<SagaResumeSummary> {
    assertOutsideTransaction(this.name, 'resume');
    const { staleMs } = resolveResumeOptions(this.name, options);
    const log = this.#options.log;
    if (!log) throw new SagaDefinitionError(this.name, 'resume() needs a log: create the saga with { log: connectionName } (or a SagaLog) so runs are recorded');
    return resumeRuns(this.#plan(), log, this.#options.onResume, staleMs);
  }

  #plan(): SagaPlan {
    if (this.#steps.length === 0) throw new SagaDefinitionError(this.name, 'the saga has no steps; add them with .step(name, run, undo)');
    return { name: this.name, steps: [...this.#steps], retry: this.#options.retry };
  }
}

/** The results of a completed run, or the {@link SagaError} of one that did not complete. */
function finish<T>(plan: SagaPlan, runId: string | undefined, outcome: SagaOutcome): T {
  if (outcome.status === 'completed') return outcome.results as T;
  const run = runId === undefined ? '' : ` run ${runId}`;
  const failure = outcome.failedStep === undefined ? 'was interrupted' : `step "${outcome.failedStep}" failed (${describeError(outcome.stepError)})`;
  if (outcome.status === 'compensated') {
    throw new SagaError(`saga "${plan.name}"${run}: ${failure}; the steps completed before it were undone`, {
      sagaName: plan.name,
      runId,
      status: 'compensated',
      failedStep: outcome.failedStep,
      stepError: outcome.stepError,
      cause: outcome.stepError,
    });
  }
  const what = outcome.undoStep === undefined ? 'recording the compensation in the saga log failed' : `undoing step "${outcome.undoStep}" failed after its retries`;
  const left = runId === undefined ? 'The steps not undone still stand' : 'The run is recorded as failed: saga.resume() goes on compensating it';
  throw new SagaError(`saga "${plan.name}"${run}: ${failure} and compensation could not finish: ${what} (${describeError(outcome.error)}). ${left}`, {
    sagaName: plan.name,
    runId,
    status: 'failed',
    failedStep: outcome.failedStep,
    undoStep: outcome.undoStep,
    stepError: outcome.stepError,
    cause: outcome.error,
  });
}

/** Steps need their own transactions: refuse to start inside one (it would swallow them). */
function assertOutsideTransaction(sagaName: string, method: string): void {
  for (let frame = currentFrame(); frame; frame = frame.parent) {
    const open = frame.transaction;
    if (open && (open.handle as { isActive?: boolean }).isActive) {
      throw new TransactionError(`saga "${sagaName}": ${method}() was called inside a transaction on "${open.connection}"; call it outside any transaction, so that each step commits on its own`);
    }
    // A cross-database transaction enlists every connection it is used on: the steps would join it.
    if (frame.branches) {
      throw new TransactionError(`saga "${sagaName}": ${method}() was called inside a cross-database transaction; call it outside any transaction, so that each step commits on its own`);
    }
  }
}
