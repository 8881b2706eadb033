import type { KeyValue } from '../key-values.js';
import { CONNECTION, type RecordSlots } from '../hydration.js';
import type { ModelMeta } from '../metadata.js';
import { createQuery } from '../query-class.js';
import type { QueryState } from '../query-state.js';
import { cloneRecord, PIVOT, setRelation } from './record-relations.js';
import { chunks, distinctKeys, integerKey, matchKey } from './relation-keys.js';
import { relationOf } from './relation-resolve.js';
import { readPivot, type PivotRow } from './pivot-rows.js';
import { preloadLanes } from './preload-lanes.js';
import { groupByKey } from './key-groups.js';
import { relatedExplicit, relatedTarget } from './relation-target.js';
import type { ResolvedRelation } from './relation-types.js';
import type { PreloadSpec } from './relation-work.js';

type Instance = RecordSlots & Record<string, unknown>;

/**
 * Loads each preload onto `records`: one query per relation (per chunk of keys, plus one
 * for a many-to-many's pivot), never one per record; children are matched to parents in
 * memory by key value. Nested preloads run the same way on the children. Sibling preloads
 * whose queries run on different connections run at the same time (see {@link preloadLanes}).
 */
export async function loadPreloads(meta: ModelMeta, records: readonly object[], preloads: readonly PreloadSpec[]): Promise<void> {
  if (records.length === 0 || preloads.length === 0) return;
  const groups = byConnection(records as Instance[]);
  const lane = async (specs: readonly PreloadSpec[]) => {
    for (const preload of specs) {
      const relation = relationOf(meta, preload.name);
      for (const [connection, parents] of groups) await loadRelation(relation, parents, connection, preload.state);
    }
  };
  if (preloads.length === 1) return lane(preloads);
  const outcomes = await Promise.allSettled(preloadLanes(meta, [...groups.keys()], preloads).map(lane));
  // Every lane has finished before the first failure is reported: nothing keeps running on a connection (or in its transaction) after the caller moved on.
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}

// Records read through one query share a connection; records gathered by hand may not, and the connection rule follows each one's.
function byConnection(records: Instance[]): Map<string | undefined, Instance[]> {
  const first = records[0]![CONNECTION];
  if (records.every((r) => r[CONNECTION] === first)) return new Map([[first, records]]);
  const groups = new Map<string | undefined, Instance[]>();
  for (const record of records) {
    const list = groups.get(record[CONNECTION]);
    if (list) list.push(record);
    else groups.set(record[CONNECTION], [record]);
  }
  return groups;
}

async function loadRelation(relation: ResolvedRelation, parents: Instance[], connection: string | undefined, state: QueryState): Promise<void> {
  const { parentKey, childKey } = relation;
  const integer = integerKey(parentKey) && integerKey(childKey);
  if (relation.pivot) return loadThroughPivot(relation, parents, connection, state, integer);
  const keys = distinctKeys(parents, parentKey.property, integer, childKey);
  const children = await fetchByKeys(relation, connection, state, childKey.property, keys);
  const byKey = groupByKey(children, childKey.property, integer, keys);
  // Parents that share a key get arrays of their own; with distinct keys the grouped arrays are handed out as they are.
  const sharedKeys = keys.length < parents.length;
  for (const parent of parents) {
    const key = matchKey(parent[parentKey.property], integer, parentKey.property);
    const matched = key === undefined ? undefined : byKey.get(key);
    setRelation(parent, relation.name, relation.many ? (matched ? (sharedKeys ? matched.slice() : matched) : []) : (matched?.[0] ?? null));
  }
}

/** The related records whose `property` is among `keys`: one query per chunk below the dialect's bind limit. */
export async function fetchByKeys(relation: ResolvedRelation, parentConnection: string | undefined, state: QueryState, property: string, keys: readonly unknown[]): Promise<Instance[]> {
  if (keys.length === 0) return [];
  const explicit = relatedExplicit(relation, parentConnection);
  const query = createQuery<Instance>(relation.related, { ...state, explicit });
  const size = relatedTarget(relation, parentConnection).connection.dialect.maxBindings - state.values.length - 1;
  if (keys.length <= size) return query.whereIn(property as never, keys as never);
  const out: Instance[] = [];
  for (const chunk of chunks(keys, size)) {
    const rows = await query.whereIn(property as never, chunk as never);
    for (const row of rows) out.push(row);
  }
  return out;
}

async function loadThroughPivot(relation: ResolvedRelation, parents: Instance[], connection: string | undefined, state: QueryState, integer: boolean): Promise<void> {
  const { parentKey, childKey } = relation;
  const parentConnection = connection ?? relatedTarget(relation, undefined).connection.name;
  const pivotRows = await readPivot(relation, parentConnection, distinctKeys(parents, parentKey.property, integer, parentKey));
  const relatedKeys = distinctKeys(pivotRows.map((p) => ({ k: p.relatedKey })), 'k', integer, childKey);
  const related = await fetchByKeys(relation, parentConnection, state, childKey.property, relatedKeys);
  const pivotsByRelated = new Map<KeyValue, PivotRow[]>();
  for (const row of pivotRows) {
    const key = matchKey(row.relatedKey, integer, relation.pivot!.relatedKey)!;
    const list = pivotsByRelated.get(key);
    if (list) list.push(row);
    else pivotsByRelated.set(key, [row]);
  }
  // Parent key → its related records, in the related query's order; a record related to several parents is copied, each copy with its own $pivot.
  const byParent = new Map<KeyValue, Instance[]>();
  for (const record of related) {
    const rows = pivotsByRelated.get(matchKey(record[childKey.property], integer, childKey.property)!) ?? [];
    rows.forEach((row, i) => {
      const copy = i === 0 ? record : cloneRecord(record);
      (copy as Record<symbol, unknown>)[PIVOT] = row.values;
      const parentMatch = matchKey(row.foreignKey, integer, relation.pivot!.foreignKey)!;
      const list = byParent.get(parentMatch);
      if (list) list.push(copy);
      else byParent.set(parentMatch, [copy]);
    });
  }
  for (const parent of parents) {
    const key = matchKey(parent[parentKey.property], integer, parentKey.property);
    setRelation(parent, relation.name, (key === undefined ? undefined : byParent.get(key)) ?? []);
  }
}
