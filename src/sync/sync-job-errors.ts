import { PolyrecordError } from '../errors.js';

/**
 * A {@link SyncJob} could not go on: its checkpoint was changed by another run (or a
 * `reset()`) while it ran, it stopped advancing (watermark precision finer than a JS
 * `Date`), or a mapped row is unusable. `job` names the job.
 */
export class SyncJobError extends PolyrecordError {
  /** The job's `name`. */
  readonly job: string;

  constructor(job: string, message: string, options?: { cause?: unknown }) {
    super('E_SYNC_JOB', `sync job "${job}": ${message}`, options);
    this.job = job;
  }
}

/**
 * `SyncJob.run()` stopped because its `AbortSignal` fired. Every batch finished before
 * the abort is committed and checkpointed; the next `run()` resumes after it.
 * `name` is `'AbortError'`, like the DOM's, so generic abort handling recognises it;
 * the signal's reason is the `cause`.
 */
export class SyncJobAbortedError<R = unknown> extends PolyrecordError {
  /** The job's `name`. */
  readonly job: string;
  /** What the run did before it stopped (a `SyncJobResult`). */
  readonly result: R;

  constructor(job: string, result: R, reason: unknown) {
    super('E_SYNC_JOB_ABORTED', `sync job "${job}" was aborted`, { cause: reason });
    this.name = 'AbortError';
    this.job = job;
    this.result = result;
  }
}
