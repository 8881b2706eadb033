import { ConfigError } from '../errors.js';
import type { ActiveRecord, ModelClass } from '../model/active-record.js';
import type { ColumnMeta, ModelMeta } from '../model/metadata.js';
import type { ModelQuery } from '../model/query-builder.js';
import { modelOf } from '../model/target.js';
import type { Attributes, Prop } from '../model/types.js';

/** Options of `new SyncJob(...)`. */
export interface SyncJobOptions<S extends ActiveRecord, T extends ActiveRecord> {
  /** Identifies the job's checkpoint (the `name` column of `polyrecord_sync_state`); at most 191 characters. */
  name: string;
  /** Model to read from: a class (its connection resolves as for any query) or a `Model.using(name)` view. */
  source: ModelClass<S>;
  /** Model to write to: a class or a `Model.using(name)` view. */
  target: ModelClass<T>;
  /** Turns one source record into the target's properties. Must set every conflict key. Called once per row, synchronously. */
  map: (record: S) => Partial<Attributes<T>>;
  /** Target properties of a unique key: a mapped row whose key exists is updated, otherwise inserted. */
  conflictKeys: readonly Prop<T>[];
  /**
   * Source property that grows whenever a row changes, usually the `@UpdatedAt` column.
   * Rows are read in (watermark, primary key) order. Rows where it is null are never synced.
   */
  watermark: Prop<S>;
  /** Rows per batch (one read, one target transaction, one checkpoint). Default 1000. */
  batchSize?: number;
  /** Connection holding the job's checkpoint. Default: the target's connection (batch and checkpoint then commit together). */
  stateConnection?: string;
  /** Soft deletes: source rows whose `softDeleteColumn` is non-null are deleted from the target by their mapped conflict keys. */
  deletes?: { softDeleteColumn: Prop<S> };
  /** Count the rows left to sync once at the start of `run()` (one `count()`), reported as `total` in progress. Default true. */
  countTotal?: boolean;
  /**
   * Narrows the source rows the job reads (and counts): it receives the job's source query
   * and returns it with conditions added, e.g. `(q) => q.where('region', 'eu')`. Change it only
   * with a `reset()`: the checkpoint does not know which rows it skipped.
   */
  filter?: (query: ModelQuery<S>) => ModelQuery<S>;
}

/** @internal Validated options. */
export interface SyncJobPlan {
  readonly name: string;
  readonly source: object;
  readonly target: object;
  readonly sourceMeta: ModelMeta;
  readonly targetMeta: ModelMeta;
  readonly map: (record: never) => object;
  readonly conflictKeys: readonly ColumnMeta[];
  readonly watermark: ColumnMeta;
  readonly primaryKey: ColumnMeta;
  readonly softDelete: ColumnMeta | undefined;
  readonly batchSize: number;
  readonly stateConnection: string | undefined;
  readonly countTotal: boolean;
  readonly filter: ((query: ModelQuery<ActiveRecord>) => ModelQuery<ActiveRecord>) | undefined;
}

const MAX_BATCH = 100_000;
const WATERMARK_TYPES = new Set(['datetime', 'date', 'integer', 'bigint', 'float', 'string', 'any']);

/**
 * @internal Checks every option without touching a database: unknown properties raise an
 * `UnknownColumnError`, bad shapes a `ConfigError` naming the option, a source or
 * target that is not a model a `ModelDefinitionError`.
 */
export function planSyncJob(options: SyncJobOptions<any, any>): SyncJobPlan {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', 'new SyncJob() takes an options object');
  const { name } = options;
  if (typeof name !== 'string' || name.trim() === '' || name.length > 191) throw new ConfigError('name', `a SyncJob needs a name of 1-191 characters (got ${describe(name)})`);
  const sourceMeta = modelMeta('source', options.source);
  const targetMeta = modelMeta('target', options.target);
  if (typeof options.map !== 'function') throw new ConfigError('map', `sync job "${name}": map must be a function (record) => target properties`);

  const watermark = sourceMeta.column(options.watermark);
  if (!WATERMARK_TYPES.has(watermark.type)) throw new ConfigError('watermark', `sync job "${name}": ${sourceMeta.name}.${watermark.property} is a ${watermark.type} column; a watermark must be a datetime, date, number, bigint or string`);
  const primaryKey = sourceMeta.primaryKey;

  if (!Array.isArray(options.conflictKeys) || options.conflictKeys.length === 0) throw new ConfigError('conflictKeys', `sync job "${name}": conflictKeys must be a non-empty array of ${targetMeta.name} properties`);
  const conflictKeys = options.conflictKeys.map((p) => targetMeta.column(p));
  if (new Set(conflictKeys).size !== conflictKeys.length) throw new ConfigError('conflictKeys', `sync job "${name}": conflictKeys lists a property twice`);

  let softDelete: ColumnMeta | undefined;
  if (options.deletes !== undefined) {
    if (options.deletes === null || typeof options.deletes !== 'object') throw new ConfigError('deletes', `sync job "${name}": deletes must be { softDeleteColumn }`);
    softDelete = sourceMeta.column(options.deletes.softDeleteColumn);
  }

  const batchSize = checkBatchSize(name, options.batchSize ?? 1000);
  const { stateConnection } = options;
  if (stateConnection !== undefined && (typeof stateConnection !== 'string' || stateConnection === '')) throw new ConfigError('stateConnection', `sync job "${name}": stateConnection must be a connection name`);
  if (options.countTotal !== undefined && typeof options.countTotal !== 'boolean') throw new ConfigError('countTotal', `sync job "${name}": countTotal must be a boolean`);
  if (options.filter !== undefined && typeof options.filter !== 'function') throw new ConfigError('filter', `sync job "${name}": filter must be a function (query) => query`);

  return {
    name,
    source: options.source,
    target: options.target,
    sourceMeta,
    targetMeta,
    map: options.map as SyncJobPlan['map'],
    conflictKeys,
    watermark,
    primaryKey,
    softDelete,
    batchSize,
    stateConnection,
    countTotal: options.countTotal ?? true,
    filter: options.filter as SyncJobPlan['filter'],
  };
}

/** @internal A batch size (the job's, or one run's), or a `ConfigError` naming `batchSize`. */
export function checkBatchSize(job: string, batchSize: unknown): number {
  if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
    throw new ConfigError('batchSize', `sync job "${job}": batchSize must be an integer from 1 to ${MAX_BATCH} (got ${describe(batchSize)})`);
  }
  return batchSize;
}

function modelMeta(option: 'source' | 'target', model: unknown): ModelMeta {
  if ((typeof model !== 'function' && typeof model !== 'object') || model === null) throw new ConfigError(option, `must be a model class or a Model.using(name) view (got ${describe(model)})`);
  return modelOf(model).meta;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : String(value);
}
