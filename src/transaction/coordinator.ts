import { EventEmitter } from 'eventemitter3';
import type { ParticipantOutcome } from '../errors.js';
import type { RecoveryResult } from './recovery-types.js';

/** A running cross-database transaction, as `TransactionCoordinator.active()` lists it. */
export interface ActiveTransaction {
  id: string;
  state: 'running' | 'preparing' | 'committing' | 'aborting';
  participants: ParticipantOutcome[];
  startedAt: Date;
}

/** Events of the coordinator. */
export interface CoordinatorEvents {
  begin: (event: { id: string }) => void;
  prepared: (event: { id: string; participants: string[] }) => void;
  committed: (event: { id: string; participants: string[]; durationMs: number }) => void;
  aborted: (event: { id: string; reason: unknown }) => void;
  /** Phase 2 could not finish a branch: the decision stands and recovery will finish it. */
  commitPending: (event: { id: string; connection: string; error: unknown }) => void;
  recovered: (result: RecoveryResult) => void;
  /** A prepared branch has been waiting longer than the warning threshold: it holds locks and blocks VACUUM and DDL. */
  staleBranch: (event: { connection: string; gid: string; ageMs: number; ours: boolean }) => void;
  /** This node (`by`) claimed the recovery of `nodeId`, whose lease had expired, at `epoch` (see docs/cluster.md). */
  takeover: (event: { nodeId: string; by: string; epoch: number }) => void;
  /** This node finished a takeover: `nodeId`'s recovery is released, or its row deleted (`retired`) because nothing of it was left. */
  takeoverReleased: (event: { nodeId: string; by: string; epoch: number; retired: boolean; result: RecoveryResult }) => void;
  /** This node learned that `by` took over its recovery: it leaves its own in-doubt branches alone until released. */
  takenOver: (event: { nodeId: string; by: string; epoch: number }) => void;
  /** This node holds its own recovery again after a takeover, at `epoch`. */
  rejoined: (event: { nodeId: string; epoch: number }) => void;
}

/** Something the coordinator can list while it runs. */
export interface Listable {
  snapshot(): ActiveTransaction;
}

/**
 * The process's coordinator of cross-database transactions: what is running, and
 * events for each step.
 *
 * @example
 * ```ts
 * TransactionCoordinator.default.events.on('commitPending', (e) => alert(e))
 * console.log(TransactionCoordinator.default.active())
 * ```
 */
export class TransactionCoordinator {
  static readonly default = new TransactionCoordinator();

  readonly events = new EventEmitter<CoordinatorEvents>();
  readonly #running = new Set<Listable>();

  /** Running cross-database transactions with their state and participants. */
  active(): ActiveTransaction[] {
    return [...this.#running].map((tx) => tx.snapshot());
  }

  /** @internal */
  track(tx: Listable): () => void {
    this.#running.add(tx);
    return () => this.#running.delete(tx);
  }
}
