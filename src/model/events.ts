import type { ActiveRecord } from './active-record.js';

/** For updates, the old and new value of every changed property; for creates and destroys, old or new is undefined. */
export type Changes = Record<string, { old: unknown; new: unknown }>;

/** What a per-record event carries. */
export interface RecordEvent<M = ActiveRecord> {
  instance: M;
  changes: Changes;
}

/** What the `'bulk'` event carries: one per bulk statement group, which runs no per-record hooks. */
export interface BulkEvent {
  operation: 'insert' | 'upsert' | 'update' | 'delete';
  /** Rows sent (insert/upsert) or rows affected (update/delete). */
  count: number;
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
  destroyed: (event: RecordEvent) => void;
  committed: (event: RecordEvent & { operation: 'created' | 'updated' | 'destroyed' }) => void;
  rolledBack: (event: RecordEvent & { operation: 'created' | 'updated' | 'destroyed' }) => void;
  bulk: (event: BulkEvent) => void;
  syncFailed: (event: SyncFailedEvent) => void;
  hookFailed: (event: HookFailedEvent) => void;
}
