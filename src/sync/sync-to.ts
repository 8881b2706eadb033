import { ModelDefinitionError } from '../errors.js';
import type { ActiveRecord, ModelClass } from '../model/active-record.js';
import type { LifecycleParticipant, WriteContext } from '../model/lifecycle.js';
import { metaOf, ownMeta, type ModelMeta } from '../model/metadata.js';

/**
 * Options of `@SyncTo`: where and how a record is copied after every committed write.
 *
 * @example
 * ```ts
 * @SyncTo({ connection: 'analytics', model: AnalyticsUser, map: (u: User) => ({ userId: u.id, email: u.email }), conflictKeys: ['userId'], delete: true })
 * @Model({ connection: 'primary', table: 'users' })
 * class User extends ActiveRecord { ... }
 * ```
 */
export interface SyncToOptions<S = any, T extends ActiveRecord = any> {
  /** Connection of the copy. */
  connection: string;
  /** Model class of the copy. */
  model: ModelClass<T>;
  /** Source record → properties of the copy. Must include the conflict keys. */
  map: (source: S) => Record<string, unknown>;
  /** Properties of the copy that identify it (a unique key on the target table). */
  conflictKeys: readonly string[];
  /**
   * Delete the copy when the source record is destroyed. Default false. A soft delete
   * (and a restore) of the source is an update: the copy is upserted, not deleted. The
   * copy's row is deleted for real even when the target model has `@DeletedAt`.
   */
  delete?: boolean;
}

/** One declared sync target. */
export interface SyncTarget extends SyncToOptions {
  /** `connection/Model`, for reports. */
  readonly name: string;
}

const targetsByModel = new WeakMap<ModelMeta, SyncTarget[]>();

/** The sync targets declared on a model and its parent classes, parents first. */
export function syncTargetsOf(meta: ModelMeta): SyncTarget[] {
  const chain: SyncTarget[][] = [];
  for (let c: Function | null = meta.ctor; c && c !== Function.prototype; c = Object.getPrototypeOf(c) as Function | null) {
    const own = metaOf(c);
    if (own) chain.unshift(targetsByModel.get(own) ?? []);
  }
  return chain.flat();
}

/**
 * Applies one source state to a sync target idempotently: upsert by the conflict
 * keys, or delete-if-exists. Safe to run again for the same event.
 */
export async function applyToTarget(target: SyncTarget, source: object, operation: WriteContext['operation']): Promise<void> {
  const row = target.map(source);
  const model = target.model.using(target.connection);
  if (operation === 'destroyed') {
    if (!target.delete) return;
    const keys = Object.fromEntries(target.conflictKeys.map((k) => [k, row[k]]));
    await model.withTrashed().where(keys as never).forceDelete();
    return;
  }
  await model.bulkInsertOrUpdate([row as never], { conflictKeys: target.conflictKeys as never });
}

/**
 * Applies many records' states to a sync target in as few statements as it can: one
 * upsert for every created/updated record, one delete for the destroyed ones (per
 * record for composite keys). Each record must appear once. Idempotent like
 * {@link applyToTarget}.
 */
export async function applyBatchToTarget(target: SyncTarget, items: ReadonlyArray<{ record: object; operation: WriteContext['operation'] }>): Promise<void> {
  await applyRowsToTarget(
    target,
    items.map((i) => ({ row: target.map(i.record), operation: i.operation })),
  );
}

/** {@link applyBatchToTarget} of rows already mapped by `target.map`, each target row once. */
export async function applyRowsToTarget(target: SyncTarget, items: ReadonlyArray<{ row: Record<string, unknown>; operation: WriteContext['operation'] }>): Promise<void> {
  const model = target.model.using(target.connection);
  const upserts = items.filter((i) => i.operation !== 'destroyed').map((i) => i.row);
  if (upserts.length > 0) await model.bulkInsertOrUpdate(upserts as never[], { conflictKeys: target.conflictKeys as never });
  if (!target.delete) return;
  const deletes = items.filter((i) => i.operation === 'destroyed').map((i) => i.row);
  if (deletes.length === 0) return;
  if (target.conflictKeys.length === 1) {
    const key = target.conflictKeys[0]!;
    await model.withTrashed().whereIn(key as never, deletes.map((row) => row[key]) as never[]).forceDelete();
  } else {
    for (const row of deletes) await model.withTrashed().where(Object.fromEntries(target.conflictKeys.map((k) => [k, row[k]])) as never).forceDelete();
  }
}

// After commit (or right after the write outside a transaction), copy the record to every target; a failure is an event, not an error.
const realtimeParticipant: LifecycleParticipant = {
  transactional: false,
  async afterCommit(context: WriteContext): Promise<void> {
    for (const target of syncTargetsOf(context.meta)) {
      try {
        await applyToTarget(target, context.snapshot ?? context.instance, context.operation);
      } catch (error) {
        if (context.meta.events.listenerCount('syncFailed') > 0) context.meta.events.emit('syncFailed', { target: target.name, instance: context.instance as never, error });
        else process.emitWarning(`polyrecord: @SyncTo ${context.meta.name} → ${target.name} failed: ${error instanceof Error ? error.message : String(error)}`, 'PolyrecordWarning');
      }
    }
  },
};

/**
 * After every committed create/update, upserts `map(record)` into `model` on
 * `connection`; after a destroy (with `delete: true`) deletes it there. Several may
 * be stacked on one model. A failed copy emits `'syncFailed'` on the source model and
 * does not undo the source write; add `@Outbox()` for a delivery that retries.
 */
export function SyncTo(options: SyncToOptions): ClassDecorator {
  if (!options || typeof options !== 'object') throw new ModelDefinitionError('@SyncTo() needs options');
  if (typeof options.connection !== 'string' || options.connection === '') throw new ModelDefinitionError('@SyncTo(): connection must be a connection name');
  if (typeof options.model !== 'function') throw new ModelDefinitionError('@SyncTo(): model must be a model class');
  if (typeof options.map !== 'function') throw new ModelDefinitionError('@SyncTo(): map must be a function');
  if (!Array.isArray(options.conflictKeys) || options.conflictKeys.length === 0) throw new ModelDefinitionError('@SyncTo(): conflictKeys must list at least one property');
  const targetMeta = metaOf(options.model);
  if (!targetMeta?.table) throw new ModelDefinitionError(`@SyncTo(): ${options.model.name} is not a model`);
  for (const key of options.conflictKeys) targetMeta.column(key);
  return (source) => {
    const meta = ownMeta(source);
    const list = targetsByModel.get(meta) ?? [];
    list.push({ ...options, name: `${options.connection}/${options.model.name}` });
    targetsByModel.set(meta, list);
    if (!meta.participants.includes(realtimeParticipant)) meta.addParticipant(realtimeParticipant);
  };
}
