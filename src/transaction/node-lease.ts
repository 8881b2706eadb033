/**
 * A coordinator node's row in the coordinator log's lease table: who recovers the
 * in-doubt branches of that node id right now, and whether the node is alive.
 */
export interface NodeLease {
  /** The node id (the one in its gids). */
  nodeId: string;
  /**
   * The fencing token of the node's recovery duty. It goes up by one with every claim
   * (a takeover, or the node taking its duty back), never otherwise: whoever renewed at
   * the current epoch holds the duty.
   */
  epoch: number;
  /** Goes up by one with every renewal, claim and release: a row whose `beat` does not move for `leaseMs` has expired. */
  beat: number;
  /** The lease the holder asked for, in ms: how long others wait for a beat before they claim the row. */
  leaseMs: number;
  /** When the row was last written, by the writer's clock (for people; expiry never reads it). */
  heartbeatAt: Date;
  /** The node recovering this node's gids after a takeover, or null: the node itself (when it is alive) or nobody. */
  recoveredBy: string | null;
  /** When a takeover found nothing of the node left and retired it: nobody sweeps it again until it renews its lease. */
  retiredAt: Date | null;
}

/**
 * Node leases kept with a coordinator log (a {@link TableLog} has them as `log.leases`).
 * Every change is one conditional write that says whether it landed, so two nodes can
 * never both win the same claim.
 */
export interface NodeLeaseStore {
  /** Creates the node's row (epoch 1, owned by itself) unless it exists; resolves with the row as it stands. */
  register(nodeId: string, leaseMs: number): Promise<NodeLease>;
  /** One node's row, if any. */
  get(nodeId: string): Promise<NodeLease | undefined>;
  /** Every node's row. */
  list(): Promise<NodeLease[]>;
  /**
   * Renews a lease (and clears a retirement): `beat + 1` where the row still has `epoch` and `recoveredBy === holder`
   * (null for a node renewing its own duty). False when somebody claimed it meanwhile.
   */
  renew(nodeId: string, epoch: number, holder: string | null, leaseMs: number): Promise<boolean>;
  /**
   * The atomic claim of a row seen unchanged for its whole lease: `epoch + 1`, `beat + 1`,
   * `recoveredBy = by` where epoch and beat are still the ones seen. `by` null: the node
   * takes its own duty back. Resolves with the new row, or undefined if another write came first.
   */
  claim(seen: NodeLease, by: string | null, leaseMs: number): Promise<NodeLease | undefined>;
  /** Ends a takeover: `recoveredBy = null` (and `beat + 1`) where the row still has `epoch` and `recoveredBy === by`. */
  release(nodeId: string, epoch: number, by: string): Promise<boolean>;
  /** Ends a takeover that found nothing of the node left: releases it and marks it retired (same condition as release). */
  retire(nodeId: string, epoch: number, by: string): Promise<boolean>;
}
