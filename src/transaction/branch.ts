import type { Connection } from '../connection/connection.js';
import type { DriverConnection, TwoPhaseSupport, Xid } from '../connection/dialects/dialect.js';
import type { ParticipantOutcome } from '../errors.js';
import type { ParticipantRecord } from './coordinator-log.js';
import { crashPoint, crashTesting } from './crash-points.js';
import { ensureDecisionTable, refereeDecision, writeCommitDecision } from './last-resource.js';
import { Transaction } from '../connection/session/local-transaction.js';

const checkedForTwoPhase = new WeakSet<Connection>();

/**
 * One connection's part in a cross-database transaction: a dedicated pooled connection
 * held for the branch, opened on first use. A two-phase branch prepares and later
 * commits or rolls back prepared; the (single) last resource (a database without
 * two-phase commit, or the one chosen with `lastResource`) commits in one step,
 * writing the decision inside its own transaction.
 */
export class Branch {
  readonly connection: Connection;
  readonly index: number;
  readonly xid: Xid;
  readonly isLastResource: boolean;
  /** The ambient transaction model queries on this connection join. */
  readonly transaction: Transaction;
  #state: ParticipantOutcome['outcome'] = 'not started';
  #held: DriverConnection | undefined;
  #starting: Promise<DriverConnection> | undefined;
  #error: unknown;

  constructor(connection: Connection, index: number, xid: Xid, lastResource: boolean) {
    this.connection = connection;
    this.index = index;
    this.xid = xid;
    this.isLastResource = lastResource;
    this.transaction = new Transaction(connection, () => (this.#starting = this.#start()), undefined);
  }

  get started(): boolean {
    return this.#state !== 'not started';
  }

  get outcome(): ParticipantOutcome {
    return { connection: this.connection.name, outcome: this.#state, ...(this.#error === undefined ? {} : { error: this.#error }) };
  }

  get record(): ParticipantRecord {
    return { connection: this.connection.name, gtrid: this.xid.gtrid, bqual: this.xid.bqual, lastResource: this.isLastResource };
  }

  /** Whether this branch's id names `lastResource` as the holder of the decision (it was enlisted after it, or it was chosen up front). */
  namesLastResource(lastResource: string): boolean {
    return this.xid.bqual.endsWith(`~${lastResource}`);
  }

  #twoPhase(): TwoPhaseSupport {
    return this.connection.twoPhase!;
  }

  async #start(): Promise<DriverConnection> {
    if (this.isLastResource) await ensureDecisionTable(this.connection);
    const driverConnection = await this.connection.acquire();
    try {
      if (this.isLastResource) {
        await this.connection.executeOn(driverConnection, this.connection.dialect.beginStatement, []);
      } else {
        if (!checkedForTwoPhase.has(this.connection)) {
          await this.#twoPhase().assertEnabled(driverConnection);
          checkedForTwoPhase.add(this.connection);
        }
        await this.#twoPhase().begin(driverConnection, this.xid);
      }
    } catch (error) {
      this.connection.release(driverConnection);
      this.#fail(error);
      throw this.connection.toQueryError(error, undefined);
    }
    this.#held = driverConnection;
    this.#state = 'active';
    return driverConnection;
  }

  /** Phase 1 (two-phase branches). */
  async prepare(): Promise<void> {
    const driverConnection = this.#held!;
    try {
      await this.#twoPhase().prepare(driverConnection, this.xid);
    } catch (error) {
      const wrapped = this.connection.toQueryError(error, undefined);
      this.#fail(wrapped);
      throw wrapped;
    }
    // The connection stays with the branch until phase 2: giving it back could let the pool fill with
    // transactions waiting on this prepared branch's locks, and phase 2 would then wait for a connection forever.
    this.#state = 'prepared';
    if (crashTesting) crashPoint(`after-prepare:${this.index}`);
  }

  /**
   * The last resource's one-step commit, carrying the commit decision. Resolves with the
   * decision that stands: 'committed', or 'aborted' when it did not commit (recovery's abort
   * came first, or the write failed). When the COMMIT failed without saying whether it
   * happened (a lost reply from a server), the referee row in the last resource tells; if
   * that cannot be read either, it rejects: the outcome is unknown.
   */
  async commitAsLastResource(transactionId: string): Promise<'committed' | 'aborted'> {
    const driverConnection = this.#held!;
    try {
      await writeCommitDecision(this.connection, driverConnection, transactionId);
      if (crashTesting) crashPoint('before-last-resource-commit');
      await this.connection.executeOn(driverConnection, 'COMMIT', []);
    } catch (error) {
      this.#fail(error);
      this.#held = undefined;
      // A session whose ROLLBACK fails is broken: it goes, instead of back to the pool.
      await this.connection.executeOn(driverConnection, 'ROLLBACK', []).then(
        () => this.connection.release(driverConnection),
        () => this.connection.discard(driverConnection),
      );
      const standing = await refereeDecision(this.connection, transactionId).catch(() => undefined);
      if (standing === undefined) throw error;
      if (standing === 'aborted') {
        this.#state = 'rolled back';
        return 'aborted';
      }
      this.#state = 'committed';
      this.#error = undefined;
      return 'committed';
    }
    this.#release();
    this.#state = 'committed';
    if (crashTesting) crashPoint('after-last-resource-commit');
    return 'committed';
  }

  /** Phase 2 commit of a prepared branch; 'notFound' means somebody (recovery) already finished it. */
  async commitPrepared(): Promise<'done' | 'notFound'> {
    const driverConnection = this.#held ?? (await this.connection.acquire());
    this.#held = undefined;
    let result: 'done' | 'notFound';
    try {
      result = await this.#twoPhase().commitPrepared(driverConnection, this.xid);
    } catch (raw) {
      const error = this.connection.toQueryError(raw, undefined);
      this.#error = error;
      // The branch may still be prepared on this session: never lend the session again (XA would refuse every
      // statement on it); closing it also hands the branch to recovery, or to the next retry from a new session.
      await this.connection.discard(driverConnection);
      throw error;
    }
    this.connection.release(driverConnection);
    this.#state = 'committed';
    if (crashTesting) crashPoint(`after-commit:${this.index}`);
    return result;
  }

  /** Leaves a prepared branch to recovery: its session is closed (so XA can recover it) and not reused. */
  async abandon(): Promise<void> {
    const held = this.#held;
    this.#held = undefined;
    if (held) await this.connection.discard(held);
  }

  /** Rolls the branch back from whatever state it is in; never throws (failures are left to recovery and reported in the outcome). */
  async rollback(): Promise<void> {
    // A branch still opening (the callback timed out meanwhile) must finish opening, or its connection would leak in a transaction.
    if (this.#starting) await this.#starting.catch(() => undefined);
    if (this.#state === 'not started' || this.#state === 'rolled back' || this.#state === 'committed') return;
    try {
      if (this.isLastResource) {
        if (this.#held) await this.connection.executeOn(this.#held, 'ROLLBACK', []);
      } else if (this.#state === 'prepared') {
        const driverConnection = this.#held ?? (await this.connection.acquire());
        this.#held = driverConnection;
        await this.#twoPhase().rollbackPrepared(driverConnection, this.xid);
      } else if (this.#held) {
        await this.#twoPhase().rollbackActive(this.#held, this.xid);
      }
      this.#state = 'rolled back';
    } catch (error) {
      this.#fail(this.connection.toQueryError(error, undefined));
    } finally {
      this.#release();
    }
  }

  #fail(error: unknown): void {
    this.#state = 'failed';
    this.#error = error;
  }

  #release(): void {
    if (this.#held) this.connection.release(this.#held);
    this.#held = undefined;
  }
}
