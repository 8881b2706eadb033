/**
 * The errors a saga throws besides {@link SagaError} (which is in `errors.ts` with the
 * other public errors): a bad definition, data that cannot go into the log, and a run
 * taken over by another process.
 *
 * @module
 */
import { PolyrecordError } from '../errors.js';

/** A saga was defined or called wrongly: bad name, duplicate step, bad option, `resume()` without a log. */
export class SagaDefinitionError extends PolyrecordError {
  /** The saga's name (as given, possibly invalid). */
  readonly sagaName: string;

  constructor(sagaName: string, message: string, options?: { cause?: unknown }) {
    super('E_SAGA_DEFINITION', `saga ${JSON.stringify(sagaName)}: ${message}`, options);
    this.sagaName = sagaName;
  }
}

/**
 * A saga with a log was given an input, or a step returned a result, that is not plain
 * JSON data (a Date, a model instance, a Map, a bigint, a cycle...). `path` points at the
 * offending value, e.g. `result.user.createdAt`.
 */
export class SagaSerializationError extends PolyrecordError {
  readonly sagaName: string;
  /** Where in the value the problem is, e.g. `input.tags[2]`. */
  readonly path: string;

  constructor(sagaName: string, path: string, message: string) {
    super('E_SAGA_NOT_JSON', `saga ${JSON.stringify(sagaName)}: ${message}`);
    this.sagaName = sagaName;
    this.path = path;
  }
}

/**
 * The run's row in the saga log no longer belongs to this process: another process took
 * it over with `resume({ staleMs })`. This process stopped the run without touching
 * anything more; the new owner finishes or compensates it.
 */
export class SagaTakenOverError extends PolyrecordError {
  readonly sagaName: string;
  readonly runId: string;

  constructor(sagaName: string, runId: string) {
    super('E_SAGA_TAKEN_OVER', `saga ${JSON.stringify(sagaName)} run ${runId}: another process took the run over in the saga log; this process stopped working on it`);
    this.sagaName = sagaName;
    this.runId = runId;
  }
}
