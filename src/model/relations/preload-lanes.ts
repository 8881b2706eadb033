import type { Connection } from '../../connection/connection.js';
import type { ModelMeta } from '../metadata.js';
import type { QueryState } from '../query-state.js';
import { relationOf } from './relation-resolve.js';
import { pivotTarget, relatedTarget } from './relation-target.js';
import type { ResolvedRelation } from './relation-types.js';

/**
 * Sibling preloads grouped into lanes that may run at the same time: two preloads share a
 * lane when any statement of theirs (nested preloads, pivots, counts and filters of their
 * constraints included) could run on the same connection. Within a lane they run one after
 * another, so a connection never gets two statements of one preload at once: a transaction's
 * single session (and its statement cache) sees them in order, and a pool lends no more
 * connections than a sequential preload would. Lanes keep the preloads' order.
 */
export function preloadLanes<T extends { readonly name: string; readonly state: QueryState }>(meta: ModelMeta, parentConnections: readonly (string | undefined)[], preloads: readonly T[]): T[][] {
  const lanes: { connections: Set<Connection>; preloads: T[] }[] = [];
  for (const preload of preloads) {
    const relation = relationOf(meta, preload.name);
    const connections = new Set<Connection>();
    for (const parent of parentConnections) addConnections(connections, relation, parent, preload.state);
    const shared = lanes.filter((lane) => [...connections].some((c) => lane.connections.has(c)));
    const lane = shared[0] ?? { connections: new Set<Connection>(), preloads: [] };
    if (shared.length === 0) lanes.push(lane);
    // A preload touching several lanes' connections joins them into one.
    for (const other of shared.slice(1)) {
      for (const c of other.connections) lane.connections.add(c);
      lane.preloads.push(...other.preloads);
      lanes.splice(lanes.indexOf(other), 1);
    }
    for (const c of connections) lane.connections.add(c);
    lane.preloads.push(preload);
  }
  return lanes.map((lane) => lane.preloads);
}

// Every connection the relation query (and what its state nests) can run a statement on, by the connection rule.
function addConnections(out: Set<Connection>, relation: ResolvedRelation, parentConnection: string | undefined, state: QueryState): void {
  const related = relatedTarget(relation, parentConnection).connection;
  out.add(related);
  if (relation.pivot) out.add(pivotTarget(relation, parentConnection ?? relatedTarget(relation, undefined).connection.name).connection);
  const work = state.relations;
  if (work === undefined) return;
  for (const nested of [...work.preloads, ...work.counts, ...work.filters]) addConnections(out, relationOf(relation.related, nested.name), related.name, nested.state);
}
