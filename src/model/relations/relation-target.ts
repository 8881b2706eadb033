import { ConnectionManager } from '../../connection/manager.js';
import type { Connection } from '../../connection/connection.js';
import { currentFrame, scopedConnection } from '../../context/scope.js';
import { currentTransaction, type Transaction } from '../../connection/session/local-transaction.js';
import type { ModelMeta } from '../metadata.js';
import { resolveTarget, type Target } from '../target.js';
import type { ResolvedRelation } from './relation-types.js';

/**
 * The connection rule: a related model declared on the same connection as its parent
 * follows the parent's resolved connection (`Artist.using('eu').preload('albums')` reads
 * the albums of `eu`); any other related model resolves as usual (the innermost scope,
 * then its own connection). Returns the explicit connection for the related query.
 */
export function relatedExplicit(relation: ResolvedRelation, parentConnection: string | undefined): string | undefined {
  const { owner, related } = relation;
  return related.connection === owner.connection && managerOf(related) === managerOf(owner) ? parentConnection : undefined;
}

/** Where the related query of a relation runs for parents read from `parentConnection`. */
export function relatedTarget(relation: ResolvedRelation, parentConnection: string | undefined, explicit?: string): Target {
  return resolveTarget(relation.related, explicit ?? relatedExplicit(relation, parentConnection));
}

// Never a model: scope frames that switch one model class never match the pivot.
const PIVOT_TABLE = function pivotTable() {};

/** The connection of a many-to-many's pivot table (and its open transaction there, if any): `pivotConnection` (remapped by `withConnections`), else the parent's. */
export function pivotTarget(relation: ResolvedRelation, parentConnection: string): { connection: Connection; transaction: Transaction | undefined } {
  const named = relation.pivot!.connection;
  const name = named === undefined ? parentConnection : (scopedConnection(currentFrame(), PIVOT_TABLE, named) ?? named);
  const connection = managerOf(relation.owner).get(name);
  return { connection, transaction: currentTransaction(connection) };
}

export function managerOf(meta: ModelMeta): ConnectionManager {
  return meta.manager ?? ConnectionManager.default;
}
