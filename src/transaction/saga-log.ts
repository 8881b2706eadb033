/**
 * Where a saga records its runs so that `resume()` can finish them after a crash: the
 * {@link SagaLog} interface and the shapes it stores. {@link TableSagaLog} (a table on a
 * named connection) is the implementation polyrecord ships.
 *
 * @module
 */
import type { SagaOwner } from './saga-owner.js';

export type { SagaOwner } from './saga-owner.js';

/**
 * Where a run is: `running` (steps going forward), `compensating` (undoing completed
 * steps), or ended: `completed`, `compensated`, or `failed` (an undo kept failing; the
 * run still needs compensating and `resume()` picks it up).
 */
export type SagaRunStatus = 'running' | 'compensating' | 'completed' | 'compensated' | 'failed';

/** One run of a saga as the log holds it. */
export interface SagaRunRecord {
  readonly runId: string;
  readonly sagaName: string;
  readonly status: SagaRunStatus;
  /** The run's input (JSON data). */
  readonly input: unknown;
  /**
   * Results of the steps that have completed and not been undone, by step name (JSON
   * data; a step that returned undefined is recorded as null).
   */
  readonly results: Readonly<Record<string, unknown>>;
  /**
   * While running: the step being run (null once completed). While compensating or
   * failed: the next step to undo (null when nothing is left to undo).
   */
  readonly currentStep: string | null;
  /** Text of the last error: the failed step's while compensating, the undo's when failed. */
  readonly error: string | null;
  /** The process working on the run (or that last did). */
  readonly owner: SagaOwner;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A progress write: what changes in a run's record (the log sets `updatedAt`). */
export interface SagaRunUpdate {
  readonly status: SagaRunStatus;
  readonly results: Readonly<Record<string, unknown>>;
  readonly currentStep: string | null;
  /** The new error text; undefined keeps the recorded one. */
  readonly error?: string | null;
}

/**
 * Storage for saga runs. Implement it to keep runs somewhere other than a table (the
 * saga only calls these five methods); every write must be durable when its promise
 * resolves. Values (`input`, `results`) are plain JSON data.
 *
 * @example
 * ```ts
 * const saga = new Saga('create-user', { log: new TableSagaLog('primary', { table: 'user_sagas' }) })
 * ```
 */
export interface SagaLog {
  /** Stores a new run. */
  create(record: SagaRunRecord): Promise<void>;
  /**
   * Writes a run's progress, only if `owner` still owns it; resolves with whether it
   * did (false: another process took the run over).
   */
  update(runId: string, owner: SagaOwner, update: SagaRunUpdate): Promise<boolean>;
  /**
   * Takes a run over, atomically: sets its owner and status to `next` only if its status
   * and owner are still `expected` (compare-and-set). Resolves with whether it did, so
   * two processes resuming at once never both get a run.
   */
  claim(runId: string, expected: { readonly status: SagaRunStatus; readonly owner: SagaOwner }, next: { readonly status: SagaRunStatus; readonly owner: SagaOwner }): Promise<boolean>;
  /** Runs of saga `sagaName` that are running, compensating or failed, oldest first. */
  unfinished(sagaName: string): Promise<SagaRunRecord[]>;
  /** One run, if the log has it. */
  get(runId: string): Promise<SagaRunRecord | undefined>;
  /**
   * Optional, for operators (`polyrecord saga list`): runs of every saga and status (or
   * those `filter` names), most recently updated first. Where a log lacks it, only the
   * unfinished runs of the sagas the config names can be listed.
   */
  runs?(filter: SagaRunFilter): Promise<SagaRunRecord[]>;
}

/** Which runs {@link SagaLog.runs} lists. */
export interface SagaRunFilter {
  readonly sagaName?: string;
  readonly status?: SagaRunStatus;
  /** At most this many (the most recently updated). */
  readonly limit?: number;
}

/** Whether `value` looks like a {@link SagaLog}. */
export function isSagaLog(value: unknown): value is SagaLog {
  if (!value || typeof value !== 'object') return false;
  const log = value as Record<string, unknown>;
  return ['create', 'update', 'claim', 'unfinished', 'get'].every((method) => typeof log[method] === 'function');
}
