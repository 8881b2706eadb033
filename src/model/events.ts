import type { ActiveRecord } from './active-record.js';

/** For updates, the old and new value of every changed property; for creates and destroys, old or new is undefined. */
export type Changes = Record<string, { old: unknown; new: unknown }>;

/** What a per-record event carries. */
export interface RecordEvent<M = ActiveRecord> {
  instance: M;
  changes: Changes;
}

/** What the application asked for: a soft delete is `'destroyed'` too (with `soft: true`), `restore()` is `'restored'`. */
export type RecordOperation = 'created' | 'updated' | 'destroyed' | 'restored';

/**
 * Which write a hook, a `'committed'`/`'rolledBack'` event or a participant is about.
 * `soft` is true for a soft delete only (`destroy()` on a model with `@DeletedAt`).
 */
export interface WriteKind {
  readonly operation: RecordOperation;
  readonly soft: boolean;
}

/** What `'destroyed'` carries: `soft` says whether `@DeletedAt` was set (the row stays) or the row was deleted. */
export interface DestroyedEvent<M = ActiveRecord> extends RecordEvent<M> {
  soft: boolean;
}

/** What the `'bulk'` event carries: one per bulk statement group, which runs no per-record hooks. */
export interface BulkEvent {
  operation: 'insert' | 'upsert' | 'update' | 'delete';
  /** Rows sent (insert/upsert) or rows affected (update/delete). */
  count: number;
  /** Present (true) on a query `delete()` of a soft-deleting model: the rows were soft-deleted, not deleted. */
  soft?: true;
}

/** What `'syncFailed'` carries: a real-time `@SyncTo` copy that did not happen (the source write stands). */
export interface SyncFailedEvent<M = ActiveRecord> {
  target: string;
  instance: M;
  error: unknown;
}

/** What `'hookFailed'` carries: an `@AfterCommit`/`@AfterRollback` hook that threw after the outcome was settled. */
export interface HookFailedEvent<M = ActiveRecord> {
  hook: string;
  instance: M;
  error: unknown;
}

/** Events of `Model.events`. */
export interface ModelEvents {
  created: (event: RecordEvent) => void;
  updated: (event: RecordEvent) => void;
  saved: (event: RecordEvent) => void;
  destroyed: (event: DestroyedEvent) => void;
  /** `restore()` of a soft-deleted record (inside the write's transaction, like `'updated'`). */
  restored: (event: RecordEvent) => void;
  committed: (event: RecordEvent & WriteKind) => void;
  rolledBack: (event: RecordEvent & WriteKind) => void;
  bulk: (event: BulkEvent) => void;
  syncFailed: (event: SyncFailedEvent) => void;
  hookFailed: (event: HookFailedEvent) => void;
}
