/** One branch recovery acted on (or could not). */
export interface RecoveredBranch {
  transactionId: string;
  connection: string;
  gid: string;
  reason?: string;
}

/** What {@link recover} did. */
export interface RecoveryResult {
  committed: RecoveredBranch[];
  rolledBack: RecoveredBranch[];
  unknown: RecoveredBranch[];
}
