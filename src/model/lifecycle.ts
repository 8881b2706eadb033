import { currentTransaction, runTransaction } from '../connection/session/local-transaction.js';
import type { Changes, WriteKind } from './events.js';
import { CONNECTION, DESTROYED, ORIGINAL, originalOf, type RecordSlots } from './hydration.js';
import { IN_TRANSACTION_HOOKS, runHooks, type HookName } from './hooks.js';
import type { ColumnMeta, ModelMeta } from './metadata.js';
import { QueryBuilderError } from '../errors.js';
import { counterStep } from './column-values.js';
import { assertNotDestroyed, deletedAtWrites, deleteRecord, incrementColumn, insertRecord, instanceTarget, isTrashed, normaliseRecord, updateRecord, writeDeletedAt } from './persistence.js';
import type { Target } from './target.js';
import type { MaybePromise } from '../util/maybe-promise.js';

type Instance = RecordSlots & Record<string, unknown>;

/** One committed-or-not write of one record, as participants and callbacks see it. */
export interface WriteContext {
  readonly meta: ModelMeta;
  readonly instance: object;
  /** What happened to the row: a soft delete and a restore are `'updated'` (the row stays, its `@DeletedAt` changed). */
  readonly operation: 'created' | 'updated' | 'destroyed';
  /** What the application asked for (`destroy()` of a soft-deleting model: `{ operation: 'destroyed', soft: true }`). */
  readonly kind: WriteKind;
  readonly changes: Changes;
  /** Where the write ran (its connection, and its transaction if any). */
  readonly target: Target;
  /**
   * A copy of the record's column values as this write stored them, for work done after
   * commit: later in-memory changes (unsaved, or rolled back with a savepoint) never leak
   * into it. Present when a participant acts after commit.
   */
  readonly snapshot: object | undefined;
}

/**
 * Something that acts on every write of a model: the outbox adds a row in the same
 * transaction, `@SyncTo` copies the record after commit.
 */
export interface LifecycleParticipant {
  /** Whether its `duringWrite` work must commit atomically with the write (forces a transaction). */
  readonly transactional: boolean;
  duringWrite?(context: WriteContext): Promise<void>;
  /** Runs after the write committed; must handle its own failures (it cannot undo the write). */
  afterCommit?(context: WriteContext): Promise<void>;
}

// One shared, frozen object per kind of write: hooks and events get them without an allocation.
const KIND = {
  created: Object.freeze({ operation: 'created', soft: false }),
  updated: Object.freeze({ operation: 'updated', soft: false }),
  destroyed: Object.freeze({ operation: 'destroyed', soft: false }),
  trashed: Object.freeze({ operation: 'destroyed', soft: true }),
  restored: Object.freeze({ operation: 'restored', soft: false }),
} as const satisfies Record<string, WriteKind>;

/**
 * `save()`: hooks, insert or update, participants, events, commit callbacks. A model
 * without hooks whose write needs no lifecycle work finishes synchronously where the
 * driver does (SQLite); callers turn the result into a promise ({@link promised}).
 */
export function saveRecord(meta: ModelMeta, instance: Instance, explicit?: string): MaybePromise<unknown> {
  assertNotDestroyed(meta, instance, 'save');
  const isNew = instance[ORIGINAL] === undefined;
  const kind = isNew ? KIND.created : KIND.updated;
  if (meta.hooks.size > 0) return saveWithHooks(meta, instance, explicit, isNew, kind);
  normaliseRecord(meta, instance);
  return writeWithLifecycle(meta, instance, explicit, kind, insertOrUpdate(meta, instance, isNew));
}

function insertOrUpdate(meta: ModelMeta, instance: Instance, isNew: boolean): (target: Target) => MaybePromise<Changes | undefined> {
  return (target) => (isNew ? insertRecord(meta, instance, target) : updateRecord(meta, instance, target));
}

async function saveWithHooks(meta: ModelMeta, instance: Instance, explicit: string | undefined, isNew: boolean, kind: WriteKind): Promise<void> {
  await runHooks(meta.hooks, 'beforeValidate', instance, kind);
  await runHooks(meta.hooks, 'beforeSave', instance, kind);
  await runHooks(meta.hooks, isNew ? 'beforeCreate' : 'beforeUpdate', instance, kind);
  normaliseRecord(meta, instance);
  await writeWithLifecycle(meta, instance, explicit, kind, insertOrUpdate(meta, instance, isNew));
}

/**
 * `destroy()` (`force` false) and `forceDestroy()`: hooks, delete, participants, events,
 * commit callbacks. On a soft-deleting model `destroy()` sets `@DeletedAt` instead, and
 * does nothing to a record already soft-deleted.
 */
export async function destroyRecord(meta: ModelMeta, instance: Instance, force: boolean): Promise<void> {
  assertNotDestroyed(meta, instance, force ? 'forceDestroy' : 'destroy');
  const soft = !force && meta.deletedAt !== undefined;
  if (soft && isTrashed(meta, instance)) return;
  const kind = soft ? KIND.trashed : KIND.destroyed;
  if (meta.hooks.size > 0) await runHooks(meta.hooks, 'beforeDestroy', instance, kind);
  await writeWithLifecycle(meta, instance, undefined, kind, (target) => (soft ? writeDeletedAt(meta, instance, target, true) : deleteRecord(meta, instance, target)));
}

/** `restore()` of a soft-deleted record: hooks, `@DeletedAt` set to null, participants, events. A live record is left alone. */
export async function restoreRecord(meta: ModelMeta, instance: Instance): Promise<void> {
  meta.softDeleteColumn(`${meta.name}.restore()`);
  assertNotDestroyed(meta, instance, 'restore');
  if (!isTrashed(meta, instance)) return;
  if (meta.hooks.size > 0) await runHooks(meta.hooks, 'beforeRestore', instance, KIND.restored);
  await writeWithLifecycle(meta, instance, undefined, KIND.restored, (target) => writeDeletedAt(meta, instance, target, false));
}

/**
 * `increment()` / `decrement()` on an instance: one atomic `SET c = c + ?`. It is an update
 * to participants (the outbox, `@SyncTo`) and listeners (`updated`, `saved`, `committed`),
 * but runs no hooks: nothing the caller assigned is being saved.
 */
export async function incrementRecord(meta: ModelMeta, instance: Instance, property: string, by: unknown, down: boolean): Promise<void> {
  assertNotDestroyed(meta, instance, down ? 'decrement' : 'increment');
  const column = meta.column(property);
  const step = counterStep(meta.name, column, by, down);
  if (instance[ORIGINAL] === undefined) throw new QueryBuilderError(`${meta.name} is not saved yet: increment() and decrement() change a stored row`);
  await writeWithLifecycle(meta, instance, undefined, KIND.updated, (target) => incrementColumn(meta, instance, column, step, target), false);
}

const AFTER_HOOKS: Record<WriteKind['operation'], HookName[]> = {
  created: ['afterCreate', 'afterSave'],
  updated: ['afterUpdate', 'afterSave'],
  destroyed: ['afterDestroy'],
  restored: ['afterRestore'],
};

const NO_VALUES: Before['values'] = [];

/** The values of the columns a soft delete or restore sets (`@DeletedAt`, `@UpdatedAt`), for a rollback to put back. */
function softDeleteValues(meta: ModelMeta, instance: Instance): Before['values'] {
  return deletedAtWrites(meta).map((c) => [c, instance[c.property]] as const);
}

/** Runs `write` with the lifecycle the model needs; settles once the write is done (with nothing a caller should use). */
function writeWithLifecycle(meta: ModelMeta, instance: Instance, explicit: string | undefined, kind: WriteKind, write: (target: Target) => MaybePromise<Changes | undefined>, hooks = true): MaybePromise<unknown> {
  const outer = instanceTarget(meta, instance, explicit);
  // Nothing listens and no transaction could roll the write back: just write (no promise hop of its own).
  if (!outer.transaction && isPlain(meta)) return write(outer);
  return writeObserved(meta, instance, explicit, kind, write, hooks, outer);
}

async function writeObserved(meta: ModelMeta, instance: Instance, explicit: string | undefined, kind: WriteKind, write: (target: Target) => MaybePromise<Changes | undefined>, hooks: boolean, outer: Target): Promise<void> {
  const run = async () => {
    const target = instanceTarget(meta, instance, explicit);
    const before: Before = {
      original: copyOf(originalOf(instance)),
      connection: instance[CONNECTION],
      destroyed: instance[DESTROYED],
      key: instance[meta.primaryKey.property],
      values: kind === KIND.trashed || kind === KIND.restored ? softDeleteValues(meta, instance) : NO_VALUES,
    };
    const changes = await write(target);
    if (!changes) return;
    const snapshot = meta.participants.some((p) => p.afterCommit) ? snapshotOf(meta, instance) : undefined;
    const operation = kind.soft || kind.operation === 'restored' ? 'updated' : (kind.operation as WriteContext['operation']);
    const context: WriteContext = { meta, instance, operation, kind, changes, target, snapshot };
    const trx = target.transaction ?? currentTransaction(target.connection);
    // Registered before anything else can fail, so a failing after-hook still restores the instance.
    trx?.afterRollback(() => afterRollback(context, before), instance);
    for (const participant of meta.participants) await participant.duringWrite?.(context);
    if (hooks) for (const hook of AFTER_HOOKS[kind.operation]) await runHooks(meta.hooks, hook, instance, kind);
    const event = { instance: instance as never, changes };
    if (kind.operation === 'destroyed') meta.events.emit('destroyed', { ...event, soft: kind.soft });
    else if (kind.operation === 'restored') meta.events.emit('restored', event);
    else {
      meta.events.emit(kind.operation, event);
      meta.events.emit('saved', event);
    }
    if (trx) trx.afterCommit(() => afterCommit(context), instance);
    else await afterCommit(context);
  };
  if (needsTransaction(meta)) await runTransaction(outer.connection, run);
  else await run();
}

const ALL_EVENTS = [...['created', 'updated', 'saved', 'destroyed', 'restored'], 'committed', 'rolledBack'] as const;

/** A model without hooks, participants or record listeners: its writes need no lifecycle work at all. */
function isPlain(meta: ModelMeta): boolean {
  if (meta.hooks.size > 0 || meta.participants.length > 0) return false;
  for (const event of ALL_EVENTS) if (meta.events.listenerCount(event) > 0) return false;
  return true;
}

const IN_WRITE_EVENTS = ['created', 'updated', 'saved', 'destroyed', 'restored'] as const;

// Listeners of in-write events run inside the write like after-hooks do: a throwing one rolls the write back.
function needsTransaction(meta: ModelMeta): boolean {
  return meta.participants.some((p) => p.transactional) || IN_TRANSACTION_HOOKS.some((hook) => meta.hooks.has(hook)) || IN_WRITE_EVENTS.some((event) => meta.events.listenerCount(event) > 0);
}

/** The column values as written, on an object with the model's prototype (its methods work; its constructor does not run). */
function snapshotOf(meta: ModelMeta, instance: Instance): object {
  const copy = Object.create((meta.ctor as { prototype: object }).prototype) as Instance;
  for (const column of meta.columns) {
    const value = instance[column.property];
    if (value !== undefined) copy[column.property] = structuredClone(value);
  }
  return copy;
}

async function afterCommit(context: WriteContext): Promise<void> {
  await runSettledHook(context, 'afterCommit');
  try {
    context.meta.events.emit('committed', { instance: context.instance as never, changes: context.changes, operation: context.kind.operation, soft: context.kind.soft });
  } catch (error) {
    reportSettledFailure(context, 'committed listener', error);
  }
  for (const participant of context.meta.participants) await participant.afterCommit?.(context);
}

const copyOf = (original: Record<string, unknown> | undefined) => original && { ...original };

/** What a rollback puts back on the instance. */
interface Before {
  original: Record<string, unknown> | undefined;
  connection: string | undefined;
  destroyed: boolean | undefined;
  key: unknown;
  /** Property values a soft delete or restore set (`@DeletedAt`, `@UpdatedAt`): they were not the user's edits. */
  values: ReadonlyArray<readonly [ColumnMeta, unknown]>;
}

async function afterRollback(context: WriteContext, before: Before): Promise<void> {
  // The database no longer has what this write did: put the record back as it was (new stays new, destroyed is alive again, trashed is live again).
  const instance = context.instance as Instance;
  instance[ORIGINAL] = before.original;
  instance[CONNECTION] = before.connection;
  instance[DESTROYED] = before.destroyed;
  if (context.operation === 'created') instance[context.meta.primaryKey.property] = before.key;
  for (const [column, value] of before.values) instance[column.property] = value;
  await runSettledHook(context, 'afterRollback');
  try {
    context.meta.events.emit('rolledBack', { instance: context.instance as never, changes: context.changes, operation: context.kind.operation, soft: context.kind.soft });
  } catch (error) {
    reportSettledFailure(context, 'rolledBack listener', error);
  }
}

/** Runs an after-outcome hook; its failure is reported (`hookFailed`), never thrown: the outcome is already final. */
async function runSettledHook(context: WriteContext, hook: 'afterCommit' | 'afterRollback'): Promise<void> {
  try {
    await runHooks(context.meta.hooks, hook, context.instance, context.kind);
  } catch (error) {
    reportSettledFailure(context, hook, error);
  }
}

/** After the outcome is final a failure can only be reported: `hookFailed`, or a process warning when nobody listens. */
function reportSettledFailure(context: WriteContext, hook: string, error: unknown): void {
  if (context.meta.events.listenerCount('hookFailed') > 0) context.meta.events.emit('hookFailed', { hook, instance: context.instance as never, error });
  else process.emitWarning(`polyrecord: ${hook} of ${context.meta.name} failed after the outcome was final: ${error instanceof Error ? error.message : String(error)}`, 'PolyrecordWarning');
}
