import { currentTransaction, runTransaction } from '../transaction/local.js';
import type { Changes } from './events.js';
import { CONNECTION, DESTROYED, ORIGINAL, type RecordSlots } from './hydration.js';
import { IN_TRANSACTION_HOOKS, runHooks, type HookName } from './hooks.js';
import type { ModelMeta } from './metadata.js';
import { QueryBuilderError } from '../errors.js';
import { columnValue } from './column-values.js';
import { assertNotDestroyed, deleteRecord, incrementColumn, insertRecord, instanceTarget, normaliseRecord, updateRecord } from './persistence.js';
import type { Target } from './target.js';

type Instance = RecordSlots & Record<string, unknown>;

/** One committed-or-not write of one record, as participants and callbacks see it. */
export interface WriteContext {
  readonly meta: ModelMeta;
  readonly instance: object;
  readonly operation: 'created' | 'updated' | 'destroyed';
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

/** `save()`: hooks, insert or update, participants, events, commit callbacks. */
export async function saveRecord(meta: ModelMeta, instance: Instance, explicit?: string): Promise<void> {
  assertNotDestroyed(meta, instance, 'save');
  const isNew = instance[ORIGINAL] === undefined;
  if (meta.hooks.size > 0) {
    await runHooks(meta.hooks, 'beforeValidate', instance);
    await runHooks(meta.hooks, 'beforeSave', instance);
    await runHooks(meta.hooks, isNew ? 'beforeCreate' : 'beforeUpdate', instance);
  }
  normaliseRecord(meta, instance);
  await writeWithLifecycle(meta, instance, explicit, isNew ? 'created' : 'updated', async (target) =>
    isNew ? insertRecord(meta, instance, target) : updateRecord(meta, instance, target),
  );
}

/** `destroy()`: hooks, delete, participants, events, commit callbacks. */
export async function destroyRecord(meta: ModelMeta, instance: Instance): Promise<void> {
  assertNotDestroyed(meta, instance, 'destroy');
  if (meta.hooks.size > 0) await runHooks(meta.hooks, 'beforeDestroy', instance);
  await writeWithLifecycle(meta, instance, undefined, 'destroyed', (target) => deleteRecord(meta, instance, target));
}

/**
 * `increment()` / `decrement()` on an instance: one atomic `SET c = c + ?`. It is an update
 * to participants (the outbox, `@SyncTo`) and listeners (`updated`, `saved`, `committed`),
 * but runs no hooks: nothing the caller assigned is being saved.
 */
export async function incrementRecord(meta: ModelMeta, instance: Instance, property: string, by: unknown): Promise<void> {
  assertNotDestroyed(meta, instance, 'increment');
  const column = meta.column(property);
  if (column.type !== 'integer' && column.type !== 'bigint' && column.type !== 'float') {
    throw new QueryBuilderError(`${meta.name}.${property} is a ${column.type} column; increment() and decrement() take integer, bigint or float columns`);
  }
  if (instance[ORIGINAL] === undefined) throw new QueryBuilderError(`${meta.name} is not saved yet: increment() changes a stored row`);
  const amount = columnValue(meta.name, column, by) as number | bigint;
  await writeWithLifecycle(meta, instance, undefined, 'updated', (target) => incrementColumn(meta, instance, column, amount, target), false);
}

const AFTER_HOOKS: Record<WriteContext['operation'], HookName[]> = {
  created: ['afterCreate', 'afterSave'],
  updated: ['afterUpdate', 'afterSave'],
  destroyed: ['afterDestroy'],
};

async function writeWithLifecycle(meta: ModelMeta, instance: Instance, explicit: string | undefined, operation: WriteContext['operation'], write: (target: Target) => Promise<Changes | undefined>, hooks = true): Promise<void> {
  const outer = instanceTarget(meta, instance, explicit);
  // Nothing listens and no transaction could roll the write back: just write.
  if (!outer.transaction && isPlain(meta)) {
    await write(outer);
    return;
  }
  const run = async () => {
    const target = instanceTarget(meta, instance, explicit);
    const before = { original: instance[ORIGINAL] && { ...instance[ORIGINAL] }, connection: instance[CONNECTION], destroyed: instance[DESTROYED], key: instance[meta.primaryKey.property] };
    const changes = await write(target);
    if (!changes) return;
    const snapshot = meta.participants.some((p) => p.afterCommit) ? snapshotOf(meta, instance) : undefined;
    const context: WriteContext = { meta, instance, operation, changes, target, snapshot };
    const trx = target.transaction ?? currentTransaction(target.connection);
    // Registered before anything else can fail, so a failing after-hook still restores the instance.
    trx?.afterRollback(() => afterRollback(context, before), instance);
    for (const participant of meta.participants) await participant.duringWrite?.(context);
    if (hooks) for (const hook of AFTER_HOOKS[operation]) await runHooks(meta.hooks, hook, instance);
    const event = { instance: instance as never, changes };
    if (operation === 'destroyed') meta.events.emit('destroyed', event);
    else {
      meta.events.emit(operation, event);
      meta.events.emit('saved', event);
    }
    if (trx) trx.afterCommit(() => afterCommit(context), instance);
    else await afterCommit(context);
  };
  if (needsTransaction(meta)) await runTransaction(outer.connection, run);
  else await run();
}

const ALL_EVENTS = [...['created', 'updated', 'saved', 'destroyed'], 'committed', 'rolledBack'] as const;

/** A model without hooks, participants or record listeners: its writes need no lifecycle work at all. */
function isPlain(meta: ModelMeta): boolean {
  return meta.hooks.size === 0 && meta.participants.length === 0 && ALL_EVENTS.every((event) => meta.events.listenerCount(event) === 0);
}

const IN_WRITE_EVENTS = ['created', 'updated', 'saved', 'destroyed'] as const;

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
    context.meta.events.emit('committed', { instance: context.instance as never, changes: context.changes, operation: context.operation });
  } catch (error) {
    reportSettledFailure(context, 'committed listener', error);
  }
  for (const participant of context.meta.participants) await participant.afterCommit?.(context);
}

async function afterRollback(context: WriteContext, before: { original: Record<string, unknown> | undefined; connection: string | undefined; destroyed: boolean | undefined; key: unknown }): Promise<void> {
  // The database no longer has what this write did: put the record back as it was (new stays new, destroyed is alive again).
  const instance = context.instance as Instance;
  instance[ORIGINAL] = before.original;
  instance[CONNECTION] = before.connection;
  instance[DESTROYED] = before.destroyed;
  if (context.operation === 'created') instance[context.meta.primaryKey.property] = before.key;
  await runSettledHook(context, 'afterRollback');
  try {
    context.meta.events.emit('rolledBack', { instance: context.instance as never, changes: context.changes, operation: context.operation });
  } catch (error) {
    reportSettledFailure(context, 'rolledBack listener', error);
  }
}

/** Runs an after-outcome hook; its failure is reported (`hookFailed`), never thrown: the outcome is already final. */
async function runSettledHook(context: WriteContext, hook: 'afterCommit' | 'afterRollback'): Promise<void> {
  try {
    await runHooks(context.meta.hooks, hook, context.instance);
  } catch (error) {
    reportSettledFailure(context, hook, error);
  }
}

/** After the outcome is final a failure can only be reported: `hookFailed`, or a process warning when nobody listens. */
function reportSettledFailure(context: WriteContext, hook: string, error: unknown): void {
  if (context.meta.events.listenerCount('hookFailed') > 0) context.meta.events.emit('hookFailed', { hook, instance: context.instance as never, error });
  else process.emitWarning(`polyrecord: ${hook} of ${context.meta.name} failed after the outcome was final: ${error instanceof Error ? error.message : String(error)}`, 'PolyrecordWarning');
}
