import { ConfigError } from '../errors.js';
import { ConnectionManager } from '../connection/manager.js';
import { ClusterNode } from './cluster-node.js';
import { TransactionCoordinator } from './coordinator.js';
import { crossDbDefaults, toLog } from './cross-db-defaults.js';
import { resolveNodeId } from './gid.js';
import type { NodeLeaseStore } from './node-lease.js';
import { recover, recoverNode, type RecoveryOptions } from './recovery.js';

/** Options of {@link startRecovery}. */
export interface RecoveryLoopOptions extends RecoveryOptions {
  /** Time between the end of one pass and the start of the next. Default 30 000 ms. */
  intervalMs?: number;
  /**
   * How long this node's lease lasts without a renewal (logs with node leases: `TableLog`).
   * Other nodes take over this node's in-doubt branches once its lease has not moved for
   * this long. Default 30 000 ms.
   */
  leaseMs?: number;
  /** Time between lease renewals; below `leaseMs`. Default a third of `leaseMs`. */
  heartbeatMs?: number;
  /** Whether this node takes over the recovery of nodes whose lease expired. Default true. */
  takeOver?: boolean;
}

/**
 * A background loop running {@link recover} every `intervalMs`; call the returned
 * function to stop it (it waits for a pass in progress). A failed pass is a process
 * warning; the loop goes on.
 *
 * When the log keeps node leases (a `TableLog`), the node joins the cluster: it registers
 * in the log and renews its lease every `heartbeatMs`, recovers its own in-doubt
 * branches only while it holds its lease, and takes over the recovery of nodes whose
 * lease expired (an atomic claim that bumps their epoch; see docs/cluster.md).
 *
 * @example
 * ```ts
 * const stop = startRecovery({ connections: ['bank_eu', 'bank_us'], intervalMs: 5_000, leaseMs: 15_000 })
 * TransactionCoordinator.default.events.on('takeover', (e) => log.info(`${e.by} recovers ${e.nodeId}`))
 * process.on('SIGTERM', () => void stop())
 * ```
 */
export function startRecovery(options: RecoveryLoopOptions = {}): () => Promise<void> {
  const manager = options.manager ?? ConnectionManager.default;
  const leases = toLog(options.log, manager).leases;
  const node = leases ? clusterNode(leases, options) : undefined;
  const started = node?.start();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = (node ? started!.then(() => clusterPass(node, options)) : recover(options))
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
    await node?.stop();
  };
}

function clusterNode(store: NodeLeaseStore, options: RecoveryLoopOptions): ClusterNode {
  const leaseMs = options.leaseMs ?? 30_000;
  const heartbeatMs = options.heartbeatMs ?? Math.floor(leaseMs / 3);
  if (!Number.isInteger(leaseMs) || leaseMs <= 0) throw new ConfigError('leaseMs', `must be a positive whole number of ms (got ${String(leaseMs)})`);
  if (!Number.isInteger(heartbeatMs) || heartbeatMs <= 0 || heartbeatMs >= leaseMs) throw new ConfigError('heartbeatMs', `must be a positive whole number of ms below leaseMs (${leaseMs}); got ${String(heartbeatMs)}`);
  const nodeId = resolveNodeId(options.nodeId ?? crossDbDefaults().nodeId);
  return new ClusterNode({ nodeId, store, leaseMs, heartbeatMs, coordinator: options.coordinator ?? TransactionCoordinator.default });
}

/**
 * One pass of a cluster node: its own branches while it holds its lease, then each node
 * whose lease expired, one claim at a time. A takeover ignores `minAgeMs` (the node has
 * shown no sign of life for a whole lease) and reports no stale branches (its own pass
 * does), and ends by releasing the node's duty, or deleting its row when the pass found
 * nothing of it left.
 */
async function clusterPass(node: ClusterNode, options: RecoveryLoopOptions): Promise<void> {
  const coordinator = options.coordinator ?? TransactionCoordinator.default;
  if (node.holdsOwn()) await recoverNode(options, node.nodeId, () => node.holdsOwn());
  if (options.takeOver === false) return;
  for (const lease of node.holdsOwn() ? await node.expired() : []) {
    // Only a live node takes over.
    if (!node.holdsOwn()) break;
    const epoch = await node.claim(lease);
    if (epoch === undefined) continue;
    let outcome: Awaited<ReturnType<typeof recoverNode>> | undefined;
    try {
      outcome = await recoverNode({ ...options, minAgeMs: 0, warnAfterMs: Number.POSITIVE_INFINITY }, lease.nodeId, () => node.holds(lease.nodeId, epoch));
    } finally {
      const retired = outcome !== undefined && outcome.found === 0;
      await node.release(lease.nodeId, epoch, retired);
      if (outcome) coordinator.events.emit('takeoverReleased', { nodeId: lease.nodeId, by: node.nodeId, epoch, retired, result: outcome.result });
    }
  }
}
