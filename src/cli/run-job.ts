import { SyncJobAbortedError } from '../sync/sync-job-errors.js';
import type { SyncJob, SyncJobResult } from '../sync/sync-job.js';
import { StoppedError } from './exit-codes.js';
import { formatValue, progressView } from './progress.js';
import { signalExitCode, stopOnSignals, type StopSignal } from './signals.js';

/** How `sync run` and `copy` run their job. */
export interface JobRunOptions {
  /** Names the job in progress lines and messages, e.g. `sync orders`. */
  readonly label: string;
  /** The command that resumes the job, for the line printed when a signal stops it. */
  readonly resume: string;
  readonly batchSize?: number;
  readonly dryRun?: boolean;
  /** Progress goes to stderr, so standard output holds the JSON alone. */
  readonly json?: boolean;
}

/**
 * Runs a job with a progress view, stopping cleanly on SIGINT/SIGTERM: the batch in flight
 * commits with its checkpoint (or, cut off, rolls back without it), and a {@link StoppedError}
 * says where the job got to and how to resume, exiting with 130 or 143.
 */
export async function runJob(job: SyncJob, options: JobRunOptions): Promise<SyncJobResult> {
  const stop = stopOnSignals();
  const view = progressView(options.label, options.json ? process.stderr : process.stdout);
  try {
    const result = await job.run({ signal: stop.signal, dryRun: options.dryRun, batchSize: options.batchSize, onProgress: (progress) => view.update(progress) });
    view.stop();
    return result;
  } catch (error) {
    view.stop();
    if (!(error instanceof SyncJobAbortedError)) throw error;
    const signal = error.cause as StopSignal;
    const { processed, batches, checkpoint } = error.result as SyncJobResult;
    const at = checkpoint ? `checkpoint at watermark ${formatValue(checkpoint.watermark)}, key ${formatValue(checkpoint.lastKey)}` : 'no checkpoint yet';
    const done = options.dryRun ? `read ${processed} rows (dry run, nothing written)` : `${processed} rows in ${batchCount(batches)} committed, ${at}; \`${options.resume}\` resumes`;
    throw new StoppedError(`${options.label}: stopped by ${signal}: ${done}`, signalExitCode(signal));
  } finally {
    stop.release();
  }
}

function batchCount(count: number): string {
  return `${count} ${count === 1 ? 'batch' : 'batches'}`;
}

/** One line saying what a run did. */
export function describeResult(label: string, result: SyncJobResult): string {
  const seconds = (result.durationMs / 1000).toFixed(1);
  const batches = batchCount(result.batches);
  if (result.dryRun) return `${label} (dry run): would apply ${result.processed} rows: ${result.upserted} upserts, ${result.deleted} deletes, in ${batches}; nothing was written`;
  const split = result.inserted === undefined ? '' : ` (${result.inserted} inserted, ${result.updated} updated)`;
  const at = result.checkpoint ? `; checkpoint at watermark ${formatValue(result.checkpoint.watermark)}, key ${formatValue(result.checkpoint.lastKey)}` : '';
  return `${label}: ${result.processed} rows, ${result.upserted} upserted${split}, ${result.deleted} deleted, in ${batches}, ${seconds}s${at}`;
}
