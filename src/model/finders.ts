import { QueryBuilderError, UniqueViolationError } from '../errors.js';
import { runTransaction } from '../connection/session/local-transaction.js';
import { columnValue } from './column-values.js';
import type { ModelMeta } from './metadata.js';
import type { ModelQuery } from './query-builder.js';
import { resolveTarget } from './target.js';

/** What the find-or-create family needs from the model class (kept structural: this file sits below active-record.ts). */
export interface FinderModel<M> {
  query(): ModelQuery<M & object>;
  create(attributes: object): Promise<M>;
}

/**
 * The records whose primary keys are `keys`, in the order of `keys`; keys with no record
 * are left out, and a repeated key gives its record once (at its first place).
 */
export async function findMany<M extends object>(meta: ModelMeta, model: FinderModel<M>, keys: readonly unknown[]): Promise<M[]> {
  if (!Array.isArray(keys)) throw new QueryBuilderError(`${meta.name}.findMany() takes an array of primary keys`);
  const pk = meta.primaryKey;
  const wanted = keys.map((key) => {
    if (key === null || key === undefined) throw new QueryBuilderError(`${meta.name}.findMany() keys cannot be null or undefined`);
    return columnValue(meta.name, pk, key);
  });
  if (wanted.length === 0) return [];
  const found = new Map<string, M>();
  for (const record of await model.query().whereIn(pk.property as never, wanted as never)) {
    found.set(keyOf((record as Record<string, unknown>)[pk.property]), record as M);
  }
  const out: M[] = [];
  const seen = new Set<string>();
  for (const key of wanted) {
    const k = keyOf(key);
    const record = found.get(k);
    if (record && !seen.has(k)) {
      seen.add(k);
      out.push(record);
    }
  }
  return out;
}

/** Keys compare by value and type family: `1`, `'1'` (already normalised) and `1n` of one column are the same key. */
function keyOf(key: unknown): string {
  return key instanceof Date ? String(key.getTime()) : String(key);
}

/**
 * The record matching `search`, else a new one created from `search` and `extra`. Safe
 * under concurrency when `search` names a unique key: when another client inserts the
 * same key between the lookup and the insert, the insert fails on the unique index and
 * the record that client wrote is returned instead (the insert runs in a savepoint
 * inside a transaction, so the transaction survives).
 */
export async function firstOrCreate<M extends object>(meta: ModelMeta, explicit: string | undefined, model: FinderModel<M>, search: object, extra: object = {}): Promise<M> {
  checkSearch(meta, 'firstOrCreate', search);
  const existing = await model.query().where(search as never).first();
  if (existing) return existing as M;
  return createOrFind(meta, explicit, model, search, { ...search, ...extra });
}

/**
 * Updates the record matching `search` with `attributes`, or creates one from both.
 * Concurrency-safe in the same way as {@link firstOrCreate}: a client that loses the
 * race to insert updates the row the winner inserted.
 */
export async function updateOrCreate<M extends object>(meta: ModelMeta, explicit: string | undefined, model: FinderModel<M>, search: object, attributes: object): Promise<M> {
  checkSearch(meta, 'updateOrCreate', search);
  const update = async (record: M) => {
    (record as { fill(attributes: object): void }).fill(attributes);
    await (record as { save(): Promise<unknown> }).save();
    return record;
  };
  const existing = await model.query().where(search as never).first();
  if (existing) return update(existing as M);
  let created = true;
  const record = await createOrFind(meta, explicit, model, search, { ...search, ...attributes }, () => {
    created = false;
  });
  return created ? record : update(record);
}

function checkSearch(meta: ModelMeta, method: string, search: object): void {
  if (search === null || typeof search !== 'object' || Array.isArray(search) || Object.keys(search).length === 0) {
    throw new QueryBuilderError(`${meta.name}.${method}() needs an object of { property: value } to search by`);
  }
}

/**
 * Inserts; when the insert hits a unique index because a concurrent client just wrote the
 * same key, returns that client's record instead. The insert runs in a savepoint when a
 * transaction is open (PostgreSQL aborts a transaction on any failed statement).
 */
async function createOrFind<M extends object>(meta: ModelMeta, explicit: string | undefined, model: FinderModel<M>, search: object, attributes: object, onFound?: () => void): Promise<M> {
  const target = resolveTarget(meta, explicit);
  try {
    return target.transaction ? await runTransaction(target.connection, () => model.create(attributes)) : await model.create(attributes);
  } catch (error) {
    if (!(error instanceof UniqueViolationError)) throw error;
    // Read the winner's committed row itself, not this transaction's snapshot (MySQL's REPEATABLE READ would not show it).
    const lookup = model.query().where(search as never);
    const winner = await (target.transaction ? lookup.forShare() : lookup).first();
    if (!winner) throw error;
    onFound?.();
    return winner as M;
  }
}
