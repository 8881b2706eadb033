import type { Connection } from '../connection/connection.js';
import { ConnectionManager } from '../connection/manager.js';
import { runInFrame } from '../context/scope.js';
import { ConfigError, CrossDbTransactionError, HeuristicOutcomeError } from '../errors.js';
import { Branch } from './branch.js';
import { TransactionCoordinator, type ActiveTransaction } from './coordinator.js';
import type { CoordinatorLog, ParticipantRecord } from './coordinator-log.js';
import { crashPoint, crashTesting } from './crash-points.js';
import { branchXid, newTransactionId, resolveNodeId } from './gid.js';
import { Transaction } from '../connection/session/local-transaction.js';
import { configureCrossDb, crossDbDefaults, toLog, type Defaults } from './cross-db-defaults.js';
import type { RetryPolicy } from '../util/retry.js';
import { markCommitUncertain, runRetried, transactionRetry, type TransactionOptions } from '../connection/session/transaction-retry.js';
import { XID_PATTERN } from '../connection/dialects/dialect.js';
import { recover, type RecoveryOptions, type RecoveryResult } from './recovery.js';
import { startRecovery, type RecoveryLoopOptions } from './recovery-loop.js';

/** Options of {@link CrossDbTransaction.run}; the defaults come from {@link CrossDbTransaction.configure}. */
export interface CrossDbOptions extends TransactionOptions {
  /** Connections to enlist up front (others enlist on first use). */
  connections?: readonly string[];
  /** Abort if the decision is not reached within this time. Default 30 000 ms. */
  timeoutMs?: number;
  /** The coordinator log, or a connection name for a `TableLog` there. */
  log?: CoordinatorLog | string;
  /** This coordinator's id in every gid; stable across restarts. Default `POLYRECORD_NODE_ID`, else the host name. */
  nodeId?: string;
  /**
   * A participant (PostgreSQL or MySQL/MariaDB) whose own commit carries the commit
   * decision, instead of the coordinator log: the last resource. It joins with a plain
   * local transaction, not two-phase commit; once every other branch has prepared, the
   * decision row is inserted into its `polyrecord_tx_decisions` table and it commits, and
   * that COMMIT is the decision. This saves its prepare and the log write (two durable
   * writes and two or three round trips per transaction); recovery reads the decision
   * from that database, so it must be reachable for the others to be recovered. It takes
   * the place of a SQLite last resource (there can be only one). It is enlisted when
   * the transaction commits if the callback did not touch it.
   */
  lastResource?: string;
  manager?: ConnectionManager;
  coordinator?: TransactionCoordinator;
}

const COMMIT_ATTEMPTS = 3;

/**
 * A transaction across several databases, all-or-nothing, by two-phase commit:
 * PostgreSQL prepared transactions and MySQL/MariaDB XA, plus at most one SQLite
 * database as the last resource. The commit decision is forced to a coordinator log
 * before any branch commits, so `recover()` can finish whatever a crash interrupts.
 *
 * @example
 * ```ts
 * await CrossDbTransaction.run(async (tx) => {
 *   await Account.using('bank_a').where({ id: 1 }).update({ balance: 50 })
 *   await Account.using('bank_b').where({ id: 7 }).update({ balance: 150 })
 * }, { log: 'txlog' })
 * ```
 */
export class CrossDbTransaction {
  /** The global transaction id (also in every branch's gid). */
  readonly id: string;
  readonly nodeId: string;
  readonly #manager: ConnectionManager;
  readonly #log: CoordinatorLog;
  readonly #branches = new Map<string, Branch>();
  readonly #startedAt = new Date();
  // The connection chosen with the lastResource option (its canonical name), if any.
  #chosenLastResource: string | undefined;
  #timeoutMs = 30_000;
  #state: ActiveTransaction['state'] | 'in doubt' = 'running';
  #open = true;

  private constructor(nodeId: string, log: CoordinatorLog, manager: ConnectionManager) {
    this.id = newTransactionId();
    this.nodeId = nodeId;
    this.#log = log;
    this.#manager = manager;
  }

  /** Sets the defaults `run` and `recover` use when their options leave them out. */
  static configure(options: Defaults): void {
    if (options.nodeId !== undefined) resolveNodeId(options.nodeId);
    configureCrossDb(options);
  }

  /** Finishes in-doubt branches after a crash; see {@link recover}. */
  static recover(options?: RecoveryOptions): Promise<RecoveryResult> {
    return recover(options);
  }

  /** Runs {@link recover} every `intervalMs` in the background, as a cluster node when the log keeps node leases; see {@link startRecovery}. */
  static startRecovery(options?: RecoveryLoopOptions): () => Promise<void> {
    return startRecovery(options);
  }

  /**
   * Runs `fn` as one transaction over every connection it touches and resolves with its
   * result once every branch committed (or the commit decision is recorded and the rest
   * is handed to recovery, reported by the coordinator's `commitPending` event). Any
   * failure before the decision rolls every branch back. With `retry`, a transaction rolled
   * back because a branch deadlocked, failed to serialize or lost its session runs again
   * from the start; one past its decision never does.
   */
  static run<T>(fn: (tx: CrossDbTransaction) => Promise<T> | T, options: CrossDbOptions = {}): Promise<T> {
    let retry: RetryPolicy | undefined;
    try {
      retry = transactionRetry(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return runRetried(retry, () => CrossDbTransaction.#runOnce(fn, options));
  }

  static async #runOnce<T>(fn: (tx: CrossDbTransaction) => Promise<T> | T, options: CrossDbOptions): Promise<T> {
    const manager = options.manager ?? ConnectionManager.default;
    const coordinator = options.coordinator ?? TransactionCoordinator.default;
    const tx = new CrossDbTransaction(resolveNodeId(options.nodeId ?? crossDbDefaults().nodeId), toLog(options.log, manager), manager);
    tx.#timeoutMs = options.timeoutMs ?? crossDbDefaults().timeoutMs ?? 30_000;
    if (options.lastResource !== undefined) tx.#chooseLastResource(options.lastResource);
    const untrack = coordinator.track(tx);
    coordinator.events.emit('begin', { id: tx.id });
    try {
      await tx.#log.ensure();
      for (const name of options.connections ?? []) await tx.#enlist(name).transaction.start();
      const result = await withTimeout(
        runInFrame({ branches: tx }, () => fn(tx)),
        tx.#timeoutMs,
        tx.id,
      );
      tx.#open = false;
      await tx.#commit(coordinator);
      return result;
    } catch (error) {
      tx.#open = false;
      if (tx.#state === 'in doubt' || tx.#state === 'committing') {
        // Past (or possibly past) the decision nothing may be rolled back: unfinished branches stay prepared for recovery.
        markCommitUncertain(error);
        for (const branch of tx.#branches.values()) await branch.abandon();
        throw error;
      }
      await tx.#abort();
      coordinator.events.emit('aborted', { id: tx.id, reason: error });
      // Report what became of every branch after the rollback, not before it.
      if (error instanceof CrossDbTransactionError && error.transactionId === tx.id) throw new CrossDbTransactionError(tx.id, error.reason, tx.participants, error.cause);
      throw error;
    } finally {
      untrack();
    }
  }

  /** Participating connections and what became of each. */
  get participants() {
    return [...this.#branches.values()].map((b) => b.outcome);
  }

  /**
   * @internal Scope lookup: the branch (a transaction handle) for a connection, enlisting it
   * on first use. Once the transaction is over (committed, rolled back, timed out) every
   * lookup answers a finished handle, so a callback still running cannot write outside it.
   */
  branch(connectionName: string): Transaction | undefined {
    if (!this.#open) {
      const connection = this.#manager.get(connectionName);
      return this.#branches.get(connection.name)?.transaction ?? Transaction.finished(connection);
    }
    return this.#enlist(connectionName).transaction;
  }

  /** @internal */
  snapshot(): ActiveTransaction {
    return { id: this.id, state: this.#state === 'in doubt' ? 'committing' : this.#state, participants: this.participants, startedAt: this.#startedAt };
  }

  #chooseLastResource(connectionName: string): void {
    const connection = this.#manager.get(connectionName);
    if (connection.dialect.twoPhase === undefined) throw new ConfigError('lastResource', `"${connection.name}" has no two-phase commit: it is the last resource anyway, leave the option out`);
    this.#chosenLastResource = connection.name;
  }

  #enlist(connectionName: string): Branch {
    const connection = this.#manager.get(connectionName);
    let branch = this.#branches.get(connection.name);
    if (branch) return branch;
    const lastResource = [...this.#branches.values()].find((b) => b.isLastResource);
    const withoutTwoPhase = connection.dialect.twoPhase === undefined;
    if (withoutTwoPhase && (lastResource || this.#chosenLastResource !== undefined)) {
      const holder = lastResource?.connection.name ?? this.#chosenLastResource;
      throw new CrossDbTransactionError(this.id, `"${connection.name}" cannot take part in two-phase commit, and "${holder}" already is the one such participant allowed (the last resource)`, this.participants);
    }
    const isLastResource = withoutTwoPhase || connection.name === this.#chosenLastResource;
    // A chosen last resource is known from the start, so every branch names it whatever the order of enlisting. A SQLite
    // one is named by the branches enlisted after it; those enlisted before it learn of it from the log (#delegate).
    const lastResourceName = this.#chosenLastResource ?? (withoutTwoPhase ? connection.name : lastResource?.connection.name);
    const xid = branchXid(this.nodeId, this.id, this.#branches.size, lastResourceName);
    if (!XID_PATTERN.test(xid.bqual)) throw new CrossDbTransactionError(this.id, `the last resource's connection name "${lastResourceName}" is too long to fit in a branch id (at most 60 characters)`, this.participants);
    branch = new Branch(connection, this.#branches.size, xid, isLastResource);
    this.#branches.set(connection.name, branch);
    return branch;
  }

  async #commit(coordinator: TransactionCoordinator): Promise<void> {
    let started = [...this.#branches.values()].filter((b) => b.started);
    if (this.#chosenLastResource !== undefined && started.some((b) => !b.isLastResource) && !started.some((b) => b.isLastResource)) {
      // The other branches name the chosen last resource as the holder of their decision: it must carry it.
      await this.#enlist(this.#chosenLastResource).transaction.start();
      started = [...this.#branches.values()].filter((b) => b.started);
    }
    const twoPhase = started.filter((b) => !b.isLastResource);
    const lastResource = started.find((b) => b.isLastResource);
    this.#state = 'preparing';
    const delegated = lastResource !== undefined && twoPhase.some((b) => !b.namesLastResource(lastResource.connection.name));
    if (delegated) await this.#delegate(started);
    if (crashTesting) crashPoint('before-prepare');
    const votes = await Promise.allSettled(twoPhase.map((b) => b.prepare()));
    const refused = votes.find((v): v is PromiseRejectedResult => v.status === 'rejected');
    if (refused) throw new CrossDbTransactionError(this.id, 'a branch could not prepare; every branch was rolled back', this.participants, refused.reason);
    coordinator.events.emit('prepared', { id: this.id, participants: twoPhase.map((b) => b.connection.name) });
    if (crashTesting) crashPoint('after-prepares');

    if (Date.now() - this.#startedAt.getTime() > this.#timeoutMs) throw new CrossDbTransactionError(this.id, `did not reach its commit decision within ${this.#timeoutMs} ms; rolled back`, this.participants);
    const participants = started.map((b) => b.record);
    if (lastResource) {
      // The last resource's commit is the decision: it writes the decision row inside its own transaction.
      const standing = await lastResource.commitAsLastResource(this.id).catch((error: unknown) => {
        // Neither the COMMIT's reply nor the decision row could be had: the outcome is unknown, nothing may be rolled back.
        this.#state = 'in doubt';
        throw new CrossDbTransactionError(this.id, `the last resource "${lastResource.connection.name}" did not say whether it committed, and its decision could not be read; the branches stay prepared and recover() will settle them`, this.participants, error);
      });
      if (standing === 'aborted') throw new CrossDbTransactionError(this.id, `the last resource "${lastResource.connection.name}" did not commit; every branch was rolled back`, this.participants, lastResource.outcome.error);
      this.#state = 'committing';
      // With the log's `delegated` record written first, this best-effort record would only meet it: skipped.
      if (this.#chosenLastResource === undefined && !delegated) {
        const logged = await this.#log.decide(this.id, 'committing', participants).catch(() => undefined);
        if (logged?.state === 'aborted') throw new HeuristicOutcomeError(this.id, lastResource.connection.name, 'the last resource committed but the coordinator log records an abort');
      }
    } else {
      const decision = await this.#decide(participants);
      if (decision === 'aborted') throw new CrossDbTransactionError(this.id, 'recovery recorded an abort before the commit decision; every branch was rolled back', this.participants);
      this.#state = 'committing';
    }
    if (crashTesting) crashPoint('after-decision');

    const results = await Promise.allSettled(twoPhase.map((b) => this.#commitWithRetry(b)));
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      const pending = { id: this.id, connection: twoPhase[i]!.connection.name, error: result.reason };
      if (coordinator.events.listenerCount('commitPending') > 0) coordinator.events.emit('commitPending', pending);
      else process.emitWarning(`polyrecord: transaction ${this.id} is committed but its branch on "${pending.connection}" could not finish; recover() will`, 'PolyrecordWarning');
    });
    if (results.every((r) => r.status === 'fulfilled') && this.#chosenLastResource === undefined) {
      if (crashTesting) crashPoint('before-complete');
      // Bookkeeping only (the decision already stands): off the caller's path. If it is lost, recover() marks it.
      this.#log.complete(this.id).catch(() => undefined);
    }
    for (const branch of this.#branches.values()) await branch.transaction.settle(branch.started ? 'committed' : 'rolled back');
    coordinator.events.emit('committed', { id: this.id, participants: started.map((b) => b.connection.name), durationMs: Date.now() - this.#startedAt.getTime() });
  }

  /**
   * Records in the log, before anything prepares, that this transaction's decision lives in
   * its last resource: branches enlisted before the (SQLite) last resource joined do not
   * name it in their ids, and recovery of them must find the decision there, not presume
   * abort. An abort recorded first (recovery's) stands: nothing has prepared, so it is obeyed.
   */
  async #delegate(started: Branch[]): Promise<void> {
    const standing = await this.#log.decide(this.id, 'delegated', started.map((b) => b.record)).catch((error: unknown) => {
      throw new CrossDbTransactionError(this.id, `where its decision lives could not be recorded in the coordinator log (${this.#log.description}); every branch was rolled back`, this.participants, error);
    });
    if (standing.state !== 'delegated') throw new CrossDbTransactionError(this.id, 'recovery recorded an abort before the last resource was recorded; every branch was rolled back', this.participants);
  }

  /**
   * Forces the commit decision. If the write fails its fate is unknown (the INSERT may have
   * committed before the reply was lost): the decision is read back, and if it cannot be read
   * the transaction is left in doubt, branches prepared, for recovery to settle.
   */
  async #decide(participants: ParticipantRecord[]): Promise<'committing' | 'aborted'> {
    try {
      return (await this.#log.decide(this.id, 'committing', participants)).state === 'aborted' ? 'aborted' : 'committing';
    } catch (error) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const standing = await this.#log.get(this.id).catch(() => undefined);
        if (standing) return standing.state === 'aborted' ? 'aborted' : 'committing';
        // No record: nobody decided. Record the abort ourselves (the referee), then obey whatever stands.
        const aborted = await this.#log.decide(this.id, 'aborted', []).catch(() => undefined);
        if (aborted) return aborted.state === 'aborted' ? 'aborted' : 'committing';
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
      this.#state = 'in doubt';
      throw new CrossDbTransactionError(this.id, `the commit decision could not be written or read back (${this.#log.description}); the branches stay prepared and recover() will settle them`, this.participants, error);
    }
  }

  async #commitWithRetry(branch: Branch): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await branch.commitPrepared();
        return;
      } catch (error) {
        if (attempt >= COMMIT_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
  }

  async #abort(): Promise<void> {
    this.#state = 'aborting';
    const branches = [...this.#branches.values()];
    await Promise.all(branches.map((b) => b.rollback()));
    for (const branch of branches) await branch.transaction.settle('rolled back');
  }
}

function withTimeout<T>(work: Promise<T> | T, timeoutMs: number, id: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CrossDbTransactionError(id, `did not reach its commit decision within ${timeoutMs} ms; rolled back`, [])), timeoutMs);
  });
  return Promise.race([Promise.resolve(work), timeout]).finally(() => clearTimeout(timer));
}
