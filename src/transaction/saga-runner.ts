import { SagaTakenOverError } from './saga-errors.js';
import type { Journal } from './saga-journal.js';
import { assertJsonData } from './saga-json.js';
import { withRetry } from '../util/retry.js';
import type { SagaRetryPolicy } from './saga-retry.js';
import type { SagaStepContext, SagaStepDefinition } from './saga-steps.js';

/** @internal What a run executes: the saga's steps (a snapshot) and its retry policy. */
export interface SagaPlan {
  readonly name: string;
  readonly steps: readonly SagaStepDefinition[];
  readonly retry: SagaRetryPolicy;
}

/** @internal How a run (or its resumption) ended. */
export type SagaOutcome =
  | { readonly status: 'completed'; readonly results: Record<string, unknown> }
  | { readonly status: 'compensated'; readonly failedStep: string | undefined; readonly stepError: unknown }
  | { readonly status: 'failed'; readonly failedStep: string | undefined; readonly stepError: unknown; readonly undoStep: string | undefined; readonly error: unknown };

/**
 * @internal Drives one run: forward through the steps, or backward through the undos of
 * the completed ones, recording progress in the journal after every step. Only a run
 * taken over by another process throws ({@link SagaTakenOverError}); every other ending
 * is an outcome.
 */
export class SagaExecution {
  readonly #plan: SagaPlan;
  readonly #journal: Journal;
  readonly #input: unknown;
  // Completed steps not undone, in completion order, with their results.
  readonly #standing = new Map<string, unknown>();
  // Completed steps whose result could not be recorded (not JSON): undone from memory only.
  readonly #unlogged = new Set<string>();

  constructor(plan: SagaPlan, journal: Journal, input: unknown, completed: ReadonlyMap<string, unknown> = new Map()) {
    this.#plan = plan;
    this.#journal = journal;
    this.#input = input;
    for (const [name, result] of completed) this.#standing.set(name, result);
  }

  /** Runs every step not completed yet, in order; compensates if one fails. */
  async forward(): Promise<SagaOutcome> {
    const pending = this.#plan.steps.filter((step) => !this.#standing.has(step.name));
    if (pending.length === 0) {
      // A resumed run whose steps had all completed: only its ending is missing from the log.
      try {
        await this.#journal.write({ status: 'completed', results: this.#logged(), currentStep: null });
      } catch (error) {
        if (error instanceof SagaTakenOverError) throw error;
        return this.compensate(undefined, error);
      }
    }
    for (const [index, step] of pending.entries()) {
      let result: unknown;
      try {
        result = await step.run(this.#input, Object.freeze(Object.fromEntries(this.#standing)), this.#context(step.name, 1));
      } catch (error) {
        return this.compensate(step.name, error);
      }
      this.#standing.set(step.name, result);
      const next = pending[index + 1];
      try {
        if (this.#journal.persistent) this.#checkResult(step.name, result);
        await this.#journal.write({ status: next ? 'running' : 'completed', results: this.#logged(), currentStep: next?.name ?? null });
      } catch (error) {
        if (error instanceof SagaTakenOverError) throw error;
        return this.compensate(step.name, error);
      }
    }
    return { status: 'completed', results: Object.fromEntries(this.#standing) };
  }

  /**
   * Undoes the completed steps, last first, each undo retried with the saga's policy.
   * `failedStep`/`stepError` say why (both undefined when resuming an interrupted run).
   */
  async compensate(failedStep: string | undefined, stepError: unknown): Promise<SagaOutcome> {
    const why = stepError === undefined ? undefined : describeError(stepError);
    try {
      await this.#journal.write({ status: 'compensating', results: this.#logged(), currentStep: this.#last() ?? null, error: why });
    } catch (error) {
      return this.#fail(failedStep, stepError, this.#last(), error);
    }
    for (const name of [...this.#standing.keys()].reverse()) {
      const undo = this.#plan.steps.find((step) => step.name === name)?.undo;
      if (undo) {
        const result = this.#standing.get(name);
        try {
          await withRetry(this.#plan.retry, async (attempt) => {
            await undo(result, this.#input, this.#context(name, attempt));
          });
        } catch (error) {
          return this.#fail(failedStep, stepError, name, error);
        }
      }
      this.#standing.delete(name);
      this.#unlogged.delete(name);
      try {
        await this.#journal.write({ status: 'compensating', results: this.#logged(), currentStep: this.#last() ?? null });
      } catch (error) {
        return this.#fail(failedStep, stepError, name, error);
      }
    }
    try {
      await this.#journal.write({ status: 'compensated', results: {}, currentStep: null });
    } catch (error) {
      return this.#fail(failedStep, stepError, undefined, error);
    }
    return { status: 'compensated', failedStep, stepError };
  }

  /** Records the run as failed (best effort: the log may be what failed) and says so. */
  async #fail(failedStep: string | undefined, stepError: unknown, undoStep: string | undefined, error: unknown): Promise<SagaOutcome> {
    if (error instanceof SagaTakenOverError) throw error;
    try {
      await this.#journal.write({ status: 'failed', results: this.#logged(), currentStep: this.#last() ?? null, error: describeError(error) });
    } catch (writeError) {
      if (writeError instanceof SagaTakenOverError) throw writeError;
      // The record stays running/compensating: resume() still finds the run.
    }
    return { status: 'failed', failedStep, stepError, undoStep, error };
  }

  #checkResult(name: string, result: unknown): void {
    try {
      assertJsonData(this.#plan.name, result, `the result of step "${name}"`, 'result');
    } catch (error) {
      this.#unlogged.add(name);
      throw error;
    }
  }

  /** The standing results the log can hold (undefined recorded as null). */
  #logged(): Record<string, unknown> {
    const results: Record<string, unknown> = {};
    for (const [name, result] of this.#standing) if (!this.#unlogged.has(name)) results[name] = result === undefined ? null : result;
    return results;
  }

  #last(): string | undefined {
    let last: string | undefined;
    for (const name of this.#standing.keys()) last = name;
    return last;
  }

  #context(step: string, attempt: number): SagaStepContext {
    return { sagaName: this.#plan.name, runId: this.#journal.runId, step, attempt };
  }
}

/** One line of text for the log's error column. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
