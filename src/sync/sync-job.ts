import type { Connection } from '../connection/connection.js';
import { ConnectionManager } from '../connection/manager.js';
import type { ActiveRecord, ModelClass } from '../model/active-record.js';
import type { ModelQuery } from '../model/query-builder.js';
import { modelOf, resolveTarget } from '../model/target.js';
import { currentTransaction, runTransaction } from '../connection/session/local-transaction.js';
import { applyBatch, prepareBatch, type BatchOutcome, type PreparedBatch } from './sync-job-batch.js';
import { SyncJobAbortedError, SyncJobError } from './sync-job-errors.js';
import { checkBatchSize, planSyncJob, type SyncJobOptions, type SyncJobPlan } from './sync-job-options.js';
import { advanceCheckpoint, deleteCheckpoint, type CheckpointAdvance, ensureStateTableOn, readCheckpoint, recordRun, stateTableExists, type StoredCheckpoint, type SyncJobCheckpoint } from './sync-state.js';
import type { SyncJobLastRun, SyncRunOutcome } from './sync-last-run.js';
import type { CheckpointValue } from './sync-state-codec.js';
import { assertAdvances, exactText, exactWatermarkSql, type ExactWatermark } from './sync-job-watermark.js';

/** Options of {@link SyncJob.run}. */
export interface SyncJobRunOptions {
  /** Stops the run between batches; `run()` then rejects with a {@link SyncJobAbortedError} (`name === 'AbortError'`). */
  signal?: AbortSignal;
  /** Called after each committed and checkpointed batch; an async callback is awaited before the next batch. */
  onProgress?: (progress: SyncJobProgress) => void | Promise<void>;
  /** Read and map every changed row and report what would be applied, writing nothing (no target row, no checkpoint). */
  dryRun?: boolean;
  /** Rows per batch for this run, instead of the job's `batchSize` (1 to 100,000). */
  batchSize?: number;
}

/** What `onProgress` receives after each batch. */
export interface SyncJobProgress {
  /** Source rows applied in this run so far. */
  readonly processed: number;
  /** Rows that were left to sync when the run started (undefined with `countTotal: false`). Rows changed during the run are not in it. */
  readonly total: number | undefined;
  /** Rows per second in this run so far. */
  readonly rate: number;
  /** 1-based number of the batch just finished. */
  readonly batch: number;
  /** Source rows in the batch just finished. */
  readonly batchRows: number;
  /** The checkpoint after the batch (in a dry run: the one the batch would have written). */
  readonly checkpoint: SyncJobCheckpoint;
}

/** What {@link SyncJob.status} resolves with. */
export interface SyncJobStatus {
  readonly name: string;
  /** The stored checkpoint; null before the first batch. */
  readonly checkpoint: SyncJobCheckpoint | null;
  /** What the last run recorded (undefined before any run that committed a batch). */
  readonly lastRun: SyncJobLastRun | undefined;
  /** How far the target is behind the source. */
  readonly lag: {
    /** Source rows changed after the checkpoint (all rows with a watermark, without a checkpoint). */
    readonly rows: number;
    /** The newest watermark among them; undefined when there are none. */
    readonly newestWatermark: CheckpointValue | undefined;
    /** For a date watermark: how much newer that is than the checkpoint's, in milliseconds (undefined without both). */
    readonly milliseconds: number | undefined;
  };
}

/** What {@link SyncJob.run} resolves with. */
export interface SyncJobResult {
  /** Source rows read and applied (upserted or deleted), including rows that mapped to an already-seen key. */
  readonly processed: number;
  /** Rows sent to the target's upsert. */
  readonly upserted: number;
  /** Whether this was a dry run: the counts are then what would have been applied (`inserted`/`updated` undefined, `deleted` counts keys). */
  readonly dryRun: boolean;
  /** Upserted rows whose conflict key was new. Undefined with composite conflict keys (and in a dry run), where only `upserted` is counted. */
  readonly inserted: number | undefined;
  /** Upserted rows whose conflict key already existed. Undefined with composite conflict keys. */
  readonly updated: number | undefined;
  /** Target rows deleted for soft-deleted source rows. */
  readonly deleted: number;
  /** Batches committed in this run. */
  readonly batches: number;
  readonly durationMs: number;
  /** The checkpoint after the run (null when nothing has ever been synced). */
  readonly checkpoint: SyncJobCheckpoint | null;
}

/** A page of changed source rows, with the database's exact text of the last one's watermark where it has one. */
interface Page {
  readonly records: ActiveRecord[];
  readonly lastExact: unknown;
}

/** Where a page starts: after this (watermark, primary key), compared exactly when the exact text is known. */
type PageStart = Pick<StoredCheckpoint, 'watermark' | 'exactWatermark' | 'lastKey'>;

// One run per job name and state connection at a time in this process.
const running = new WeakMap<Connection, Set<string>>();

// What tools outside the job read of it (`schema:check` wants the target and its conflict keys), without a public accessor.
const plans = new WeakMap<object, SyncJobPlan>();

/** @internal The validated options of a job, or undefined for anything that is not a SyncJob. */
export function syncJobPlan(job: unknown): SyncJobPlan | undefined {
  return typeof job === 'object' && job !== null ? plans.get(job) : undefined;
}

/**
 * Copies rows that changed in a source model into a target model, in batches, resuming
 * from a checkpoint. Each batch reads the next `batchSize` source rows in
 * (watermark, primary key) order, maps them, upserts them into the target (deleting
 * soft-deleted ones) in one transaction, and then advances the checkpoint in the
 * `polyrecord_sync_state` table. With the checkpoint on the target's connection (the
 * default) the batch and its checkpoint commit together. See docs/sync-job.md.
 *
 * @example
 * ```ts
 * const job = new SyncJob({
 *   name: 'users-to-analytics',
 *   source: User,
 *   target: AnalyticsUser,
 *   map: (u) => ({ sourceId: u.id, email: u.email, plan: u.plan }),
 *   conflictKeys: ['sourceId'],
 *   watermark: 'updatedAt',
 *   batchSize: 1000,
 * })
 * const result = await job.run({ signal: AbortSignal.timeout(60_000), onProgress: (p) => console.log(p.processed, p.total) })
 * ```
 */
export class SyncJob<S extends ActiveRecord = ActiveRecord, T extends ActiveRecord = ActiveRecord> {
  /** The job's name (its checkpoint's key). */
  readonly name: string;
  readonly #plan: SyncJobPlan;

  /**
   * Validates the options without touching a database: unknown `watermark`,
   * `conflictKeys` or `softDeleteColumn` properties throw an `UnknownColumnError`, bad
   * option values a `ConfigError`, a non-model source or target a `ModelDefinitionError`.
   */
  constructor(options: SyncJobOptions<S, T>) {
    this.#plan = planSyncJob(options);
    this.name = this.#plan.name;
    plans.set(this, this.#plan);
  }

  /**
   * Syncs everything that changed since the checkpoint, batch by batch, until no
   * changed row is left. Creates the state table if needed. Must not be called inside
   * a transaction on the target's or the state's connection. Records the run (start, rows,
   * outcome) on the checkpoint's row, for {@link SyncJob.status}.
   *
   * With `dryRun: true` it reads and maps the same pages and reports what it would apply,
   * but writes nothing: no target row, no checkpoint, not even the state table.
   */
  async run(options: SyncJobRunOptions = {}): Promise<SyncJobResult> {
    const started = performance.now();
    const plan = this.#plan;
    const { signal, onProgress } = options;
    const dryRun = options.dryRun === true;
    const batchSize = options.batchSize === undefined ? plan.batchSize : checkBatchSize(plan.name, options.batchSize);
    const totals = { processed: 0, upserted: 0, inserted: (dryRun ? undefined : 0) as number | undefined, updated: (dryRun ? undefined : 0) as number | undefined, deleted: 0, batches: 0 };
    let checkpoint: StoredCheckpoint | null = null;
    const result = (): SyncJobResult => ({ ...totals, dryRun, durationMs: performance.now() - started, checkpoint: publicCheckpoint(checkpoint) });
    if (signal?.aborted) throw new SyncJobAbortedError(plan.name, result(), signal.reason);

    const { target, state } = this.#connections();
    for (const connection of new Set([target, state])) {
      if (currentTransaction(connection)) {
        throw new SyncJobError(plan.name, `run() was called inside a transaction on "${connection.name}"; the job commits each batch itself, call it outside`);
      }
    }
    const names = running.get(state) ?? new Set<string>();
    if (names.has(plan.name)) throw new SyncJobError(plan.name, 'is already running in this process');
    running.set(state, names.add(plan.name));
    const startedAt = new Date();
    let outcome: SyncRunOutcome = 'failed';
    let failure: unknown;
    // The next page, read from the source while the current batch is written to the target.
    let prefetched: Promise<Page> | undefined;
    try {
      checkpoint = await this.#readCheckpoint(state, !dryRun);
      if (checkpoint && !dryRun) await recordRun(state, plan.name, { startedAt, rows: 0 }, 'running');
      const source = modelOf(plan.source);
      const exact = exactWatermarkSql(plan, resolveTarget(source.meta, source.explicit).connection);
      const total = plan.countTotal ? await this.#changedSince(checkpoint, exact).count() : undefined;

      let page = await this.#page(checkpoint, exact, batchSize);
      for (;;) {
        // SQLite answers synchronously: a run on it alone would never let the event loop deliver a
        // timer or a SIGINT that aborts the signal. One turn of the loop per batch lets them in.
        if (signal) await new Promise((resolve) => setImmediate(resolve));
        if (signal?.aborted) throw new SyncJobAbortedError(plan.name, result(), signal.reason);
        const { records } = page;
        if (records.length === 0) break;
        const last = records[records.length - 1] as unknown as Record<string, unknown>;
        const lastKey = last[plan.primaryKey.property];
        const exactWatermark = exact ? exactText(plan, page.lastExact, lastKey) : undefined;
        const run = dryRun ? undefined : { startedAt, rows: totals.processed + records.length };
        const next = { watermark: last[plan.watermark.property], exactWatermark, lastKey, rows: records.length, run } as CheckpointAdvance;
        assertAdvances(plan, checkpoint, next);
        const batch = prepareBatch(plan, records);
        // A short page was the end at the time it was read; later changes are the next run's.
        const more = records.length === batchSize;
        // The next page starts after this one whether or not this one commits (if it does not, the page is dropped
        // unread): reading it now overlaps the source's round trip with the target's.
        if (more) (prefetched = this.#page(next, exact, batchSize)).catch(() => undefined);

        let applied: BatchOutcome;
        let position: SyncJobCheckpoint;
        if (dryRun) {
          applied = { upserted: batch.upserts.length, inserted: undefined, updated: undefined, deleted: batch.deletes.length };
          position = { name: plan.name, watermark: next.watermark, lastKey: next.lastKey, rowsProcessed: (checkpoint?.rowsProcessed ?? 0) + totals.processed + records.length, updatedAt: new Date() };
        } else {
          [checkpoint, applied] = await this.#commit(target, state, checkpoint, next, batch);
          position = publicCheckpoint(checkpoint)!;
        }

        totals.batches++;
        totals.processed += records.length;
        totals.upserted += applied.upserted;
        totals.deleted += applied.deleted;
        totals.inserted = applied.inserted === undefined || totals.inserted === undefined ? undefined : totals.inserted + applied.inserted;
        totals.updated = applied.updated === undefined || totals.updated === undefined ? undefined : totals.updated + applied.updated;
        if (onProgress) {
          const seconds = (performance.now() - started) / 1000;
          await onProgress({ processed: totals.processed, total, rate: seconds > 0 ? totals.processed / seconds : 0, batch: totals.batches, batchRows: records.length, checkpoint: position });
        }
        if (!prefetched) break;
        page = await prefetched;
        prefetched = undefined;
      }
      outcome = 'completed';
      return result();
    } catch (error) {
      outcome = error instanceof SyncJobAbortedError ? 'aborted' : 'failed';
      failure = error;
      throw error;
    } finally {
      // A page still being read when the run stops must not outlive it (its caller may close the connection next).
      await prefetched?.catch(() => undefined);
      // Best effort: a run that failed because the state's database went away cannot record that, and its own error is what the caller needs.
      if (!dryRun) await recordRun(state, plan.name, { startedAt, rows: totals.processed }, outcome, outcome === 'failed' ? failure : undefined).catch(() => undefined);
      names.delete(plan.name);
    }
  }

  /**
   * Where the job stands, read without writing anything: its checkpoint, what its last run
   * did, and its lag (the source rows changed after the checkpoint, and the newest
   * watermark among them), in two queries on the source that the (watermark, primary key)
   * index answers.
   *
   * @example
   * ```ts
   * const { checkpoint, lag, lastRun } = await job.status()
   * console.log(checkpoint?.watermark, lag.rows, lastRun?.outcome)
   * ```
   */
  async status(): Promise<SyncJobStatus> {
    const plan = this.#plan;
    const checkpoint = await this.#readCheckpoint(this.#connections().state, false);
    const source = modelOf(plan.source);
    const exact = exactWatermarkSql(plan, resolveTarget(source.meta, source.explicit).connection);
    const behind = () => this.#changedSince(checkpoint, exact);
    const rows = await behind().count();
    const newest = rows === 0 ? undefined : ((await behind().max(plan.watermark.property as never)) as CheckpointValue | null) ?? undefined;
    const milliseconds = newest instanceof Date && checkpoint?.watermark instanceof Date ? newest.getTime() - checkpoint.watermark.getTime() : undefined;
    return { name: plan.name, checkpoint: publicCheckpoint(checkpoint), lastRun: checkpoint?.lastRun, lag: { rows, newestWatermark: newest, milliseconds } };
  }

  /** The stored checkpoint; `create` makes the state table first, else a missing table reads as no checkpoint (and nothing is written). */
  async #readCheckpoint(state: Connection, create: boolean): Promise<StoredCheckpoint | null> {
    if (create) await ensureStateTableOn(state);
    else if (!(await stateTableExists(state))) return null;
    return readCheckpoint(state, this.#plan.name);
  }

  /** The next page of changed source rows after `from`, in (watermark, primary key) order. */
  async #page(from: PageStart | null, exact: ExactWatermark | undefined, batchSize: number): Promise<Page> {
    const [wm, pk] = [this.#plan.watermark.property, this.#plan.primaryKey.property] as never[];
    const query = this.#changedSince(from, exact).orderBy(wm).orderBy(pk).limit(batchSize);
    if (!exact) return { records: await query.all(), lastExact: undefined };
    const [records, texts] = await query.allWith(exact.select);
    return { records, lastExact: texts[texts.length - 1] };
  }

  /**
   * Writes one batch to the target and advances the checkpoint: in one transaction when
   * the state lives on the target's connection, else target first, then the checkpoint.
   */
  async #commit(target: Connection, state: Connection, previous: StoredCheckpoint | null, next: CheckpointAdvance, batch: PreparedBatch): Promise<[StoredCheckpoint, BatchOutcome]> {
    const plan = this.#plan;
    if (state === target) {
      // Checkpoint first: its row lock makes a second run of the same job wait, then fail, instead of interleaving.
      return runTransaction(target, async (trx) => {
        const checkpoint = await advanceCheckpoint(state, trx, plan.name, previous, next);
        return [checkpoint, await applyBatch(plan, batch)];
      });
    }
    const outcome = await runTransaction(target, () => applyBatch(plan, batch));
    return [await advanceCheckpoint(state, undefined, plan.name, previous, next), outcome];
  }

  /** Deletes the job's checkpoint, so the next run starts from the beginning. Resolves with whether there was one. */
  async reset(): Promise<boolean> {
    const { state } = this.#connections();
    await ensureStateTableOn(state);
    return deleteCheckpoint(state, this.#plan.name);
  }

  /** The job's stored checkpoint, or null before the first batch (or after `reset()`). */
  async checkpoint(): Promise<SyncJobCheckpoint | null> {
    const { state } = this.#connections();
    await ensureStateTableOn(state);
    return publicCheckpoint(await readCheckpoint(state, this.#plan.name));
  }

  /** The target's connection (as the target model resolves it now) and the state connection. */
  #connections(): { target: Connection; state: Connection } {
    const plan = this.#plan;
    const { meta, explicit } = modelOf(plan.target);
    const target = resolveTarget(meta, explicit).connection;
    const manager = plan.targetMeta.manager ?? ConnectionManager.default;
    return { target, state: plan.stateConnection === undefined ? target : manager.get(plan.stateConnection) };
  }

  /**
   * Source rows with a watermark, strictly after the checkpoint in (watermark, primary key)
   * order. Soft-deleted rows too: a soft delete is a change the target must see.
   */
  #changedSince(checkpoint: PageStart | null, exact: ExactWatermark | undefined): ModelQuery<ActiveRecord> {
    const plan = this.#plan;
    const [wm, pk] = [plan.watermark.property, plan.primaryKey.property] as never[];
    const all = (plan.source as ModelClass<ActiveRecord>).withTrashed().whereNotNull(wm);
    const query = plan.filter ? plan.filter(all) : all;
    if (!checkpoint) return query;
    const text = checkpoint.exactWatermark;
    // A checkpoint written before exact texts were kept compares its Date once; the next one is exact.
    if (exact && text !== undefined) return query.whereRaw(exact.after, [text, text, text, checkpoint.lastKey], { prepare: true });
    return query.whereAfter([wm, pk], [checkpoint.watermark, checkpoint.lastKey]);
  }
}

function publicCheckpoint(checkpoint: StoredCheckpoint | null): SyncJobCheckpoint | null {
  if (!checkpoint) return null;
  const { name, watermark, lastKey, rowsProcessed, updatedAt } = checkpoint;
  return { name, watermark, lastKey, rowsProcessed, updatedAt };
}
