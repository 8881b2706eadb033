import { SagaDefinitionError } from './saga-errors.js';

/** What a step (or undo) is told about the run it belongs to. */
export interface SagaStepContext {
  readonly sagaName: string;
  /** The run's id in the saga's log (a stable idempotency key); undefined without a log. */
  readonly runId: string | undefined;
  /** The step's name. */
  readonly step: string;
  /** For an undo: its try, from 1 (undos are retried). 1 for a forward step. */
  readonly attempt: number;
}

/**
 * A forward step: does its work (typically in its own local transaction on whatever
 * connection it needs) and resolves with a result the undo, and later steps, get.
 * `results` holds the results of the steps before it, by name.
 */
export type SagaStepFn<Input, Prev, Result> = (input: Input, results: Readonly<Prev>, context: SagaStepContext) => Promise<Result> | Result;

/**
 * Undoes a completed step, given its result. It may be retried, and run again after a
 * crash, so it must be idempotent (deleting a row that is already gone is fine).
 */
export type SagaUndoFn<Input, Result> = (result: Result, input: Input, context: SagaStepContext) => Promise<unknown> | unknown;

/** @internal A validated step. */
export interface SagaStepDefinition {
  readonly name: string;
  readonly run: SagaStepFn<unknown, Record<string, unknown>, unknown>;
  readonly undo: SagaUndoFn<unknown, unknown> | undefined;
}

const MAX_NAME = 191;

/** @internal Validates a saga's name. */
export function validateSagaName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') throw new SagaDefinitionError(String(name), 'a saga needs a non-empty string name, e.g. new Saga(\'create-user\')');
  if (name.length > MAX_NAME) throw new SagaDefinitionError(name.slice(0, 40), `a saga name may have at most ${MAX_NAME} characters`);
  return name;
}

/** @internal Validates a step about to be added after `existing`. */
export function defineStep(sagaName: string, existing: readonly SagaStepDefinition[], name: unknown, run: unknown, undo: unknown): SagaStepDefinition {
  const bad = (message: string) => new SagaDefinitionError(sagaName, message);
  if (typeof name !== 'string' || name.trim() === '') throw bad(`step ${existing.length + 1} needs a non-empty string name`);
  if (name.length > MAX_NAME) throw bad(`step name "${name.slice(0, 40)}…" is longer than ${MAX_NAME} characters`);
  if (existing.some((step) => step.name === name)) throw bad(`a step named "${name}" is already defined; step names must be unique`);
  if (typeof run !== 'function') throw bad(`step "${name}" needs a function (input, results) => Promise<result> as its second argument`);
  if (undo !== undefined && typeof undo !== 'function') throw bad(`step "${name}": the undo must be a function (result, input) => Promise<void>, or be left out for a step with nothing to undo`);
  return { name, run: run as SagaStepDefinition['run'], undo: undo as SagaStepDefinition['undo'] };
}
