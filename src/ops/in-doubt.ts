import type { Connection } from '../connection/connection.js';
import { xidText, type PreparedBranch } from '../connection/dialects/dialect.js';
import type { CoordinatorLog } from '../transaction/coordinator-log.js';
import { crossDbDefaults, toLog } from '../transaction/cross-db-defaults.js';
import { describeXid, resolveNodeId, transactionTime } from '../transaction/gid.js';
import { lookupDecision } from '../transaction/last-resource.js';
import { recover, type RecoveryResult } from '../transaction/recovery.js';
import { configuredLog } from './coordinator-settings.js';
import { OperationInputError } from './ops-errors.js';
import { messageOf, opsScope, type OpsOptions } from './ops-options.js';

/** A prepared (in-doubt) two-phase-commit branch found on a server. */
export interface InDoubtBranch {
  /** The first connection (in config order) that lists it. */
  connection: string;
  /**
   * Every connection that lists it: MySQL/MariaDB list the prepared branches of the whole
   * server, so a branch shows through each connection to that server (listed once here).
   */
  connections: string[];
  /** The server's name for it (`gtrid:bqual`, or the gtrid when there is no bqual). */
  gid: string;
  /** Whether polyrecord made it (`polyrec:<node>:<transaction>`); recovery never touches the others. */
  ours: boolean;
  /** The coordinator node that made it (ours only). */
  node: string | null;
  /** The cross-database transaction it belongs to (ours only). */
  transactionId: string | null;
  /** Whether it is a branch of the configured node: the ones `recoverInDoubt` finishes. */
  thisNode: boolean;
  /** When it was prepared (PostgreSQL says), or when its transaction began (ours on MySQL/MariaDB); null when unknown. */
  since: Date | null;
  ageMs: number | null;
  /**
   * The decision that stands for its transaction: `commit`, `abort`, or null when none is
   * recorded yet (recovery will then abort it: presumed abort) or none can be read.
   */
  decision: 'commit' | 'abort' | null;
  /** Where the decision is kept: `log` (the coordinator log) or the name of the last-resource connection. */
  decisionIn: string | null;
  /** Why the decision could not be read, if it could not. */
  error?: string;
}

/** The decision part of an {@link InDoubtBranch}. */
type Decided = Pick<InDoubtBranch, 'decision' | 'decisionIn' | 'error'>;

/** What {@link inDoubtBranches} found. */
export interface InDoubtReport {
  branches: InDoubtBranch[];
  /** Connections with two-phase commit whose prepared branches could not be listed. */
  unreachable: { connection: string; error: string }[];
}

/**
 * The prepared branches on every connection with two-phase commit (PostgreSQL: this
 * database's; MySQL/MariaDB: the server's), polyrecord's and anybody else's, with their
 * age and, for polyrecord's, the coordinator node and the decision recorded for their
 * transaction. Reads only: records no decision, finishes nothing.
 *
 * @example
 * ```ts
 * const { branches } = await inDoubtBranches()
 * for (const b of branches) console.log(b.connection, b.gid, b.ours ? b.node : 'foreign', b.ageMs, b.decision)
 * ```
 */
export async function inDoubtBranches(options: OpsOptions = {}): Promise<InDoubtReport> {
  const { manager, config } = opsScope(options);
  const log = configuredLog(config, manager) ?? (crossDbDefaults().log === undefined ? undefined : toLog(undefined, manager));
  const thisNode = resolveNodeId(config.coordinator?.nodeId ?? crossDbDefaults().nodeId);
  const report: InDoubtReport = { branches: [], unreachable: [] };
  // One read per transaction, however many branches it has.
  const decisions = new Map<string, Promise<Decided>>();
  const now = Date.now();
  // A branch seen through several connections to one server, by server address and gid (gids are unique per server).
  const seen = new Map<string, InDoubtBranch>();
  for (const name of manager.names()) {
    const connection = manager.get(name);
    if (!connection.twoPhase) continue;
    let prepared: PreparedBranch[];
    try {
      prepared = await listPrepared(connection);
    } catch (error) {
      report.unreachable.push({ connection: name, error: messageOf(error) });
      continue;
    }
    const { host, port } = connection.settings;
    for (const branch of prepared) {
      const gid = xidText(branch.xid);
      const key = `${host ?? ''}:${port ?? ''}\u0000${gid}`;
      const already = seen.get(key);
      if (already) {
        already.connections.push(name);
        continue;
      }
      const parts = describeXid(branch.xid);
      const since = branch.preparedAt ?? (parts ? new Date(transactionTime(parts.transactionId)) : null);
      let decided: Decided = { decision: null, decisionIn: null };
      if (parts) {
        const transaction = `${parts.transactionId}~${parts.lastResource ?? ''}`;
        if (!decisions.has(transaction)) decisions.set(transaction, readDecision(parts.lastResource === undefined ? log : parts.lastResource, parts.transactionId, manager.get.bind(manager)));
        decided = await decisions.get(transaction)!;
      }
      const entry: InDoubtBranch = {
        connection: name,
        connections: [name],
        gid,
        ours: parts !== undefined,
        node: parts?.nodeId ?? null,
        transactionId: parts?.transactionId ?? null,
        thisNode: parts?.nodeId === thisNode,
        since,
        ageMs: since && Math.max(0, now - since.getTime()),
        ...decided,
      };
      seen.set(key, entry);
      report.branches.push(entry);
    }
  }
  return report;
}

/**
 * Finishes the configured node's in-doubt branches older than `minAgeMs` (default 5 000):
 * commits those whose transaction has a commit decision, rolls back the rest (see
 * `recover()`). `nodeId` overrides the config's `coordinator.nodeId`.
 *
 * @example
 * ```ts
 * const { committed, rolledBack, unknown } = await recoverInDoubt({ minAgeMs: 60_000 })
 * ```
 * @throws {OperationInputError} when no coordinator log is configured (`coordinator.log`, or `CrossDbTransaction.configure`).
 */
export async function recoverInDoubt(options: OpsOptions & { minAgeMs?: number; nodeId?: string } = {}): Promise<RecoveryResult> {
  const { manager, config } = opsScope(options);
  const log = configuredLog(config, manager) ?? crossDbDefaults().log;
  if (log === undefined) throw new OperationInputError('coordinator', 'recovery needs the coordinator log: set coordinator: { log: { connection: "..." } } in the config (or CrossDbTransaction.configure({ log }))');
  const minAgeMs = options.minAgeMs;
  if (minAgeMs !== undefined && (!Number.isInteger(minAgeMs) || minAgeMs < 0)) throw new OperationInputError('minAgeMs', `minAgeMs must be a whole number of 0 or more, got ${String(minAgeMs)}`);
  return recover({ log, manager, minAgeMs, nodeId: options.nodeId ?? config.coordinator?.nodeId });
}

/** The decision for a transaction in the coordinator log, or in the last resource named in its branch. */
async function readDecision(where: CoordinatorLog | string | undefined, transactionId: string, connectionNamed: (name: string) => Connection): Promise<Decided> {
  if (where === undefined) return { decision: null, decisionIn: null, error: 'no coordinator log is configured' };
  try {
    const state = typeof where === 'string' ? await lookupDecision(connectionNamed(where), transactionId) : (await where.get(transactionId))?.state;
    const decision = state === undefined ? null : state === 'aborted' ? 'abort' : 'commit';
    return { decision, decisionIn: typeof where === 'string' ? where : 'log' };
  } catch (error) {
    return { decision: null, decisionIn: null, error: messageOf(error) };
  }
}

async function listPrepared(connection: Connection): Promise<PreparedBranch[]> {
  const driverConnection = await connection.acquire();
  try {
    return await connection.twoPhase!.listPrepared(driverConnection);
  } catch (error) {
    throw connection.toQueryError(error, undefined);
  } finally {
    connection.release(driverConnection);
  }
}
