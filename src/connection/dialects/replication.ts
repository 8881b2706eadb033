/**
 * What read-your-writes needs from a database with streaming replicas: its replication
 * position (PostgreSQL: a WAL LSN; MariaDB: a GTID position) on the primary and on a replica,
 * how to order two positions, and how far a replica lags. Each statement answers one row
 * whose first column is the value (or null where the server cannot tell).
 */
export interface ReplicationSupport {
  /** On the primary: the position that covers every transaction committed so far. */
  readonly primaryPositionSql: string;
  /** On a replica: the position it has applied (replayed) so far. */
  readonly replayedPositionSql: string;
  /** On a replica: how far it lags behind its primary, in ms (`null`: not replicating, or unknown). */
  readonly lagSql: string;
  /** Reads {@link lagSql}'s answer: ms behind, or undefined when the replica is not applying anything (stopped). */
  readLagMs(row: Record<string, unknown> | undefined): number | undefined;
  /** Whether a replica at `applied` has applied everything up to `target`. */
  reached(applied: string, target: string): boolean;
  /** The later of two positions (both from the same primary), for a token that covers both. */
  later(a: string, b: string): string;
  /** Whether `text` is a position this dialect writes (a token from outside is checked with it). */
  isPosition(text: string): boolean;
}
