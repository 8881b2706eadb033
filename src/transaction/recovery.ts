import type { Connection } from '../connection/connection.js';
import { ConnectionManager } from '../connection/manager.js';
import { xidText, type PreparedBranch } from '../connection/dialects/dialect.js';
import { TransactionCoordinator } from './coordinator.js';
import { crashPoint, crashTesting } from './crash-points.js';
import type { CoordinatorLog, TxState } from './coordinator-log.js';
import { crossDbDefaults, toLog } from './cross-db-defaults.js';
import { parseXid, resolveNodeId, transactionTime } from './gid.js';
import { refereeDecision } from './last-resource.js';
import type { RecoveredBranch, RecoveryResult } from './recovery-types.js';

export type { RecoveredBranch, RecoveryResult } from './recovery-types.js';

/** Options of {@link recover}. */
export interface RecoveryOptions {
  /** The coordinator log (or a connection name for a `TableLog`). Default: `CrossDbTransaction.configure`'s. */
  log?: CoordinatorLog | string;
  /** Connections to scan. Default: every configured connection. */
  connections?: readonly string[];
  /** This coordinator's node id (only its own branches are touched). */
  nodeId?: string;
  /** Leave branches younger than this alone: they probably belong to a live transaction. Default 5 000 ms. */
  minAgeMs?: number;
  /** Report (event `staleBranch`) prepared branches older than this, ours or not. Default 60 000 ms. */
  warnAfterMs?: number;
  manager?: ConnectionManager;
  coordinator?: TransactionCoordinator;
}

/**
 * Finishes this coordinator's in-doubt branches: commits those whose transaction has a
 * commit decision (in the coordinator log, or in the SQLite last resource named in the
 * branch), and rolls back the rest after recording an abort decision (the referee: a
 * coordinator still running obeys it). Marks fully committed transactions done. Safe to
 * run at any time, concurrently with new transactions, and more than once.
 */
export async function recover(options: RecoveryOptions = {}): Promise<RecoveryResult> {
  const manager = options.manager ?? ConnectionManager.default;
  const coordinator = options.coordinator ?? TransactionCoordinator.default;
  const log = toLog(options.log, manager);
  const nodeId = resolveNodeId(options.nodeId ?? crossDbDefaults().nodeId);
  const minAgeMs = options.minAgeMs ?? 5_000;
  const warnAfterMs = options.warnAfterMs ?? 60_000;
  await log.ensure();
  const result: RecoveryResult = { committed: [], rolledBack: [], unknown: [] };
  const stillInDoubt = new Set<string>();
  const decisions = new Map<string, Promise<TxState>>();

  for (const name of options.connections ?? manager.names()) {
    const connection = manager.get(name);
    const twoPhase = connection.twoPhase;
    if (!twoPhase) continue;
    let branches: PreparedBranch[];
    try {
      branches = await withConnection(connection, (c) => twoPhase.listPrepared(c));
    } catch (error) {
      // One unreachable database must not stop recovery of the others.
      result.unknown.push({ transactionId: '', connection: connection.name, gid: '', reason: `cannot list prepared transactions: ${error instanceof Error ? error.message : String(error)}` });
      continue;
    }
    for (const branch of branches) {
      const gid = xidText(branch.xid);
      const parsed = parseXid(branch.xid, nodeId);
      const age = Date.now() - (branch.preparedAt?.getTime() ?? (parsed ? transactionTime(parsed.transactionId) : Date.now()));
      if (age >= warnAfterMs) {
        const stale = { connection: connection.name, gid, ageMs: age, ours: parsed !== undefined };
        if (coordinator.events.listenerCount('staleBranch') > 0) coordinator.events.emit('staleBranch', stale);
        else process.emitWarning(`polyrecord: prepared transaction ${gid} on "${connection.name}" has waited ${Math.round(age / 1000)} s; it holds locks and blocks VACUUM and DDL`, 'PolyrecordWarning');
      }
      if (!parsed) continue;
      const entry: RecoveredBranch = { transactionId: parsed.transactionId, connection: connection.name, gid };
      if (age < minAgeMs) {
        stillInDoubt.add(parsed.transactionId);
        continue;
      }
      try {
        let decision = decisions.get(parsed.transactionId);
        if (!decision) {
          decision = decide(log, manager, parsed.transactionId, parsed.lastResource);
          decisions.set(parsed.transactionId, decision);
        }
        const state = await decision;
        if (crashTesting) crashPoint('recovery-after-decision');
        if (state === 'aborted') {
          await finishBranch(connection, branch, 'rollback');
          result.rolledBack.push(entry);
        } else {
          await finishBranch(connection, branch, 'commit');
          result.committed.push(entry);
        }
        if (crashTesting) crashPoint('recovery-after-branch');
      } catch (error) {
        stillInDoubt.add(parsed.transactionId);
        result.unknown.push({ ...entry, reason: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  // Commits interrupted after every branch finished: only the log's "done" mark is missing.
  for (const record of await log.pending()) {
    if (!stillInDoubt.has(record.id) && Date.now() - record.createdAt.getTime() >= minAgeMs) await log.complete(record.id);
  }
  coordinator.events.emit('recovered', result);
  return result;
}

/** The decision that stands for a transaction; records an abort first when there is none (presumed abort, refereed). */
async function decide(log: CoordinatorLog, manager: ConnectionManager, transactionId: string, lastResource: string | undefined): Promise<TxState> {
  if (lastResource) return refereeDecision(manager.get(lastResource), transactionId);
  const record = (await log.get(transactionId)) ?? (await log.decide(transactionId, 'aborted', []));
  return record.state;
}

async function finishBranch(connection: Connection, branch: PreparedBranch, action: 'commit' | 'rollback'): Promise<void> {
  const twoPhase = connection.twoPhase!;
  // "Not found" means somebody finished it already: done either way.
  await withConnection(connection, (c) => (action === 'commit' ? twoPhase.commitPrepared(c, branch.xid) : twoPhase.rollbackPrepared(c, branch.xid)));
}

async function withConnection<T>(connection: Connection, fn: (driverConnection: object) => Promise<T>): Promise<T> {
  const driverConnection = await connection.acquire();
  try {
    return await fn(driverConnection);
  } catch (error) {
    // Driver errors are reported through QueryError: it names the connection and never carries the password.
    throw connection.toQueryError(error, undefined);
  } finally {
    connection.release(driverConnection);
  }
}

/** A background loop running {@link recover} every `intervalMs`; call the returned function to stop it. A failed pass is a process warning; the loop goes on. */
export function startRecovery(options: RecoveryOptions & { intervalMs?: number } = {}): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = recover(options)
      .catch((error: unknown) => process.emitWarning(`polyrecord recovery failed: ${error instanceof Error ? error.message : String(error)}`, 'PolyrecordWarning'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs ?? 30_000);
      });
  };
  tick();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
