import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError } from '../errors.js';
import type { Xid } from '../connection/dialects/dialect.js';

/** Every branch id polyrecord creates starts with this: recovery never touches others. */
export const GID_PREFIX = 'polyrec';

/**
 * The coordinator's node id: `POLYRECORD_NODE_ID`, else derived from the host name.
 * Stable across restarts of one deployment (never random per process), so recovery
 * after a crash recognises its own branches.
 */
export function resolveNodeId(explicit?: string): string {
  const raw = explicit ?? process.env.POLYRECORD_NODE_ID ?? hostname();
  const id = raw.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 24);
  if (id === '' || (explicit !== undefined && id !== explicit)) throw new ConfigError('nodeId', `must be 1-24 characters of letters, digits, "_" or "-" (got ${JSON.stringify(raw.slice(0, 40))})`);
  return id;
}

/** A new global transaction id: creation time (base 36, so recovery knows its age) and randomness. */
export function newTransactionId(): string {
  return Date.now().toString(36).padStart(9, '0') + randomBytes(5).toString('hex');
}

/** When a transaction id was created (epoch ms). */
export function transactionTime(id: string): number {
  return parseInt(id.slice(0, 9), 36);
}

/**
 * The xid of branch `index`: gtrid `polyrec:<node>:<tx>` (≤ 54 bytes, within XA's 64),
 * bqual `b<index>`, plus `~<connection>` naming the SQLite last resource that holds the
 * decision when there is one. PostgreSQL's gid is `gtrid:bqual` (≤ 119 bytes of its 199).
 */
export function branchXid(nodeId: string, transactionId: string, index: number, lastResource: string | undefined): Xid {
  return { gtrid: `${GID_PREFIX}:${nodeId}:${transactionId}`, bqual: lastResource ? `b${index}~${lastResource}` : `b${index}` };
}

// prefix:node:transaction, as branchXid writes it (node ids as resolveNodeId allows them).
const OUR_GTRID = new RegExp(`^${GID_PREFIX}:([A-Za-z0-9_-]{1,24}):([0-9a-z]{19})$`);

/** What a polyrecord xid says: the coordinator node that made it, the transaction, the SQLite last resource holding its decision. */
export interface XidParts {
  nodeId: string;
  transactionId: string;
  lastResource: string | undefined;
}

/** Parses any node's polyrecord xid (`polyrec:<node>:<tx>`); undefined for one polyrecord did not make. */
export function describeXid(xid: Xid): XidParts | undefined {
  const match = OUR_GTRID.exec(xid.gtrid);
  if (!match) return undefined;
  const tilde = xid.bqual.indexOf('~');
  return { nodeId: match[1]!, transactionId: match[2]!, lastResource: tilde < 0 ? undefined : xid.bqual.slice(tilde + 1) };
}

/** Parses one of this node's xids; undefined for anybody else's. */
export function parseXid(xid: Xid, nodeId: string): { transactionId: string; lastResource: string | undefined } | undefined {
  const parts = describeXid(xid);
  return parts?.nodeId === nodeId ? { transactionId: parts.transactionId, lastResource: parts.lastResource } : undefined;
}
