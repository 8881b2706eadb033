import type { NodeLeaseStore } from './node-lease.js';

/**
 * The state of a cross-database transaction in the coordinator log. `delegated` records,
 * before the first prepare, that the decision lives in the last resource named in the
 * participants (a SQLite last resource that joined after other branches had started, so
 * their branch ids do not name it); a commit later marks it `committed`.
 */
export type TxState = 'committing' | 'committed' | 'aborted' | 'delegated';

/** A state `decide()` may record: anything but the done mark. */
export type DecisionState = Exclude<TxState, 'committed'>;

/** One branch of a cross-database transaction, as logged with the commit decision. */
export interface ParticipantRecord {
  connection: string;
  gtrid: string;
  bqual: string;
  lastResource: boolean;
}

/** A transaction's record in the coordinator log. */
export interface TxRecord {
  id: string;
  state: TxState;
  participants: ParticipantRecord[];
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Where the coordinator forces its decisions. The decision row, keyed by transaction id,
 * is the referee between a live coordinator and recovery: whichever `decide()` lands
 * first wins, and both obey it.
 */
export interface CoordinatorLog {
  /** Creates what the log needs (idempotent). */
  ensure(): Promise<void>;
  /**
   * Durably records `state` for `id` unless a decision exists, and resolves with the
   * decision that stands (the first one written).
   */
  decide(id: string, state: DecisionState, participants: ParticipantRecord[]): Promise<TxRecord>;
  /** Marks a committing (or delegated) transaction as fully committed (every branch finished). */
  complete(id: string): Promise<void>;
  get(id: string): Promise<TxRecord | undefined>;
  /** Transactions still `committing`: their commits are unfinished (handed to recovery). */
  pending(): Promise<TxRecord[]>;
  /** A short description for errors and events. */
  readonly description: string;
  /**
   * Node leases, for several coordinator nodes that take over each other's recovery
   * (`startRecovery`). Optional: without them, each node recovers only its own branches.
   */
  readonly leases?: NodeLeaseStore;
}
