import { ConfigError } from '../errors.js';
import type { ConnectionManager } from '../connection/manager.js';
import type { ModelMeta } from '../model/metadata.js';
import { modelOf } from '../model/target.js';
import { syncTargetsOf } from '../sync/sync-to.js';
import { syncJobPlan } from '../sync/sync-job.js';

/** A unique key an upsert needs on a table: the conflict keys of a `@SyncTo` or a SyncJob. */
export interface KeyRequirement {
  /** The connection of the table, by its configured name (aliases resolved). */
  readonly connection: string;
  readonly meta: ModelMeta;
  /** Column names, in the order the conflict keys list them. */
  readonly columns: readonly string[];
  /** Who needs it: `@SyncTo on User`, `job copy_users`. */
  readonly usedBy: string;
}

/**
 * The unique keys that the `@SyncTo` declarations of `models` and the config's `jobs` upsert by.
 * `jobs` is read tolerantly: `{ name: SyncJob | () => SyncJob | Promise<SyncJob> }`; anything else there is a
 * ConfigError naming the entry.
 */
export async function keyRequirements(models: readonly ModelMeta[], jobs: unknown, manager: ConnectionManager): Promise<KeyRequirement[]> {
  const requirements: KeyRequirement[] = [];
  for (const meta of models) {
    for (const target of syncTargetsOf(meta)) {
      const { meta: targetMeta } = modelOf(target.model);
      requirements.push({
        connection: (targetMeta.manager ?? manager).get(target.connection).name,
        meta: targetMeta,
        columns: target.conflictKeys.map((key) => targetMeta.column(key).column),
        usedBy: `@SyncTo on ${meta.name}`,
      });
    }
  }
  if (jobs === undefined || jobs === null) return requirements;
  if (typeof jobs !== 'object') throw new ConfigError('jobs', 'must be an object of job name → SyncJob (or a function returning one)');
  for (const [name, entry] of Object.entries(jobs)) {
    const plan = syncJobPlan(entry) ?? (typeof entry === 'function' ? syncJobPlan(await (entry as () => unknown)()) : undefined);
    if (!plan) throw new ConfigError(`jobs.${name}`, 'must be a SyncJob or a function returning one');
    const target = modelOf(plan.target);
    requirements.push({
      connection: (plan.targetMeta.manager ?? manager).get(target.explicit ?? plan.targetMeta.connection!).name,
      meta: plan.targetMeta,
      columns: plan.conflictKeys.map((key) => key.column),
      usedBy: `job ${name}`,
    });
  }
  return requirements;
}

/** Whether one of a table's unique keys has exactly these columns (in any order): what an upsert's conflict target needs. */
export function hasUniqueKey(uniqueKeys: readonly (readonly string[])[], columns: readonly string[]): boolean {
  const wanted = new Set(columns);
  return uniqueKeys.some((key) => key.length === wanted.size && key.every((column) => wanted.has(column)));
}
