import { methodDecorator, type MethodDecorator } from './decorator-flavours.js';
import type { WriteKind } from './events.js';

/** Lifecycle moments a model method can be attached to. */
export type HookName =
  | 'beforeValidate'
  | 'beforeSave'
  | 'afterSave'
  | 'beforeCreate'
  | 'afterCreate'
  | 'beforeUpdate'
  | 'afterUpdate'
  | 'beforeDestroy'
  | 'afterDestroy'
  | 'beforeRestore'
  | 'afterRestore'
  | 'afterCommit'
  | 'afterRollback';

/** Hooks that run inside the write's transaction, after the write: their presence makes a write transactional. */
export const IN_TRANSACTION_HOOKS: readonly HookName[] = ['afterSave', 'afterCreate', 'afterUpdate', 'afterDestroy', 'afterRestore'];

/**
 * Makes a decorator usable bare (`@BeforeSave`) or called (`@BeforeSave()`), as a legacy
 * or a standard decorator.
 */
function hookDecorator(hook: HookName): MethodDecorator & (() => MethodDecorator) {
  const apply = methodDecorator(`@${hook[0]!.toUpperCase()}${hook.slice(1)}`, (property) => (meta) => meta.addHook(hook, property));
  return ((...args: unknown[]) => (args.length === 0 ? apply : (apply as (...a: unknown[]) => void)(...args))) as MethodDecorator & (() => MethodDecorator);
}

/** Runs first on `save()`, before `@BeforeSave`. Throw to abort: nothing is written. */
export const BeforeValidate = hookDecorator('beforeValidate');
/** Runs before every insert or update from `save()`. Throw to abort: nothing is written. */
export const BeforeSave = hookDecorator('beforeSave');
/** Runs after the insert or update, inside the same transaction. Throw to roll the write back. */
export const AfterSave = hookDecorator('afterSave');
/** Runs before an insert from `save()`/`create()`. Throw to abort. */
export const BeforeCreate = hookDecorator('beforeCreate');
/** Runs after the insert, inside the same transaction. */
export const AfterCreate = hookDecorator('afterCreate');
/** Runs before an update from `save()`. Throw to abort. */
export const BeforeUpdate = hookDecorator('beforeUpdate');
/** Runs after the update, inside the same transaction. */
export const AfterUpdate = hookDecorator('afterUpdate');
/**
 * Runs before `destroy()` and `forceDestroy()`. Throw to abort: nothing is deleted. Its
 * {@link WriteKind} argument says whether this is a soft delete (`soft: true`).
 *
 * @example
 * ```ts
 * @BeforeDestroy() guard({ soft }: WriteKind) { if (!soft && this.locked) throw new Error('locked') }
 * ```
 */
export const BeforeDestroy = hookDecorator('beforeDestroy');
/** Runs after the delete (or the soft delete: see its `soft` argument), inside the same transaction. */
export const AfterDestroy = hookDecorator('afterDestroy');
/** Runs before `restore()` of a soft-deleted record. Throw to abort: nothing is written. */
export const BeforeRestore = hookDecorator('beforeRestore');
/** Runs after `restore()` wrote, inside the same transaction. */
export const AfterRestore = hookDecorator('afterRestore');
/**
 * Runs once the enclosing transaction (including savepoints' parents and, later, a
 * cross-database transaction) has committed; right after the write when there is none.
 * Never after a rollback. A record written several times in one transaction runs it once.
 */
export const AfterCommit = hookDecorator('afterCommit');
/** Runs when the transaction (or savepoint) that wrote the record rolls back. */
export const AfterRollback = hookDecorator('afterRollback');

/**
 * Calls every method registered for `hook` on `instance`, parent class hooks first,
 * awaiting each. Each gets the write's {@link WriteKind} (hooks shared by several
 * writes, a soft and a real delete say, can tell them apart).
 */
export async function runHooks(hooks: ReadonlyMap<HookName, readonly string[]>, hook: HookName, instance: object, kind: WriteKind): Promise<void> {
  const methods = hooks.get(hook);
  if (!methods) return;
  for (const method of methods) await (instance as Record<string, (kind: WriteKind) => unknown>)[method]!(kind);
}
