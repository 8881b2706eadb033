import type { ExecOptions, ExecResult } from '../dialects/dialect.js';
import type { ReplicationSupport } from '../dialects/replication.js';

/** Position and lag statements: plain text, rows as objects, never retried (a failure means the replica is passed over). */
const PROBE: ExecOptions = Object.freeze({ prepare: 'never' });

/** What `status()` reports of one replica. */
export interface ReplicaStatus {
  /** `<connection>/replica-<n>`. */
  readonly name: string;
  /** Reads it answered. */
  readonly reads: number;
  /** Its last measured lag in ms (undefined until measured: with `maxLagMs`; `null` when it is not applying anything). */
  readonly lagMs: number | null | undefined;
  /** The last replication position it was seen to have applied. */
  readonly appliedPosition: string | undefined;
}

/** What a replica needs of its connection (a `Connection`, named `<primary>/replica-<n>`). */
export interface ReplicaConnection {
  readonly name: string;
  /** Whether its breaker would let a call through now. */
  readonly admitsCalls: boolean;
  execute(sql: string, bindings: readonly unknown[], options?: ExecOptions): Promise<ExecResult>;
}

/** The first column of a one-row answer, or undefined. */
export function firstValue(result: ExecResult): unknown {
  const row = result.rows[0];
  if (row === undefined || row === null) return undefined;
  return Array.isArray(row) ? row[0] : Object.values(row as object)[0];
}

/**
 * One read replica: its own connection (pool, breaker, limits) and what reads last learnt of it.
 * The applied position only grows, so a cached one is a lower bound: a read whose target it
 * already covers asks nothing.
 */
export class Replica<C extends ReplicaConnection = ReplicaConnection> {
  readonly connection: C;
  readonly index: number;
  readonly #replication: ReplicationSupport | undefined;
  #reads = 0;
  #applied: string | undefined;
  #appliedQuery: Promise<string | undefined> | undefined;
  #lagMs: number | undefined | null;
  #lagReadAt = Number.NEGATIVE_INFINITY;
  #lagQuery: Promise<number | undefined> | undefined;

  constructor(connection: C, index: number, replication: ReplicationSupport | undefined) {
    this.connection = connection;
    this.index = index;
    this.#replication = replication;
  }

  get name(): string {
    return this.connection.name;
  }

  /** The lag last measured (undefined before any; a replica that applies nothing has none to give). */
  get lagMs(): number | undefined {
    return this.#lagMs ?? undefined;
  }

  async read(sql: string, bindings: readonly unknown[], options: ExecOptions): Promise<ExecResult> {
    const result = await this.connection.execute(sql, bindings, options);
    this.#reads++;
    return result;
  }

  /**
   * Whether it has applied every position in `targets`, as far as its cached position says. When
   * the cache says no, the read goes to the primary at once rather than wait one more round trip,
   * and the replica is asked again in the background, so the next read sees what it has applied.
   */
  hasApplied(targets: readonly string[]): boolean {
    const replication = this.#replication;
    if (replication === undefined || targets.length === 0) return true;
    const applied = this.#applied;
    if (applied !== undefined && targets.every((target) => replication.reached(applied, target))) return true;
    // A failure to answer is the replica's breaker's business; the read has gone elsewhere already.
    this.#appliedQuery ??= this.#readApplied(replication).catch(() => undefined);
    return false;
  }

  async #readApplied(replication: ReplicationSupport): Promise<string | undefined> {
    try {
      const value = firstValue(await this.connection.execute(replication.replayedPositionSql, [], PROBE));
      if (typeof value === 'string' && value !== '') this.#applied = this.#applied === undefined ? value : replication.later(this.#applied, value);
      return this.#applied;
    } finally {
      this.#appliedQuery = undefined;
    }
  }

  /** Its lag in ms, measured again when the last reading is older than `maxAgeMs`; undefined when it applies nothing. */
  async lag(maxAgeMs: number): Promise<number | undefined> {
    if (performance.now() - this.#lagReadAt <= maxAgeMs) return this.#lagMs ?? undefined;
    return (this.#lagQuery ??= this.#readLag());
  }

  async #readLag(): Promise<number | undefined> {
    const replication = this.#replication!;
    try {
      const { rows } = await this.connection.execute(replication.lagSql, [], PROBE);
      const lag = replication.readLagMs(rows[0] as Record<string, unknown> | undefined);
      this.#lagMs = lag ?? null;
      this.#lagReadAt = performance.now();
      return lag;
    } finally {
      this.#lagQuery = undefined;
    }
  }

  status(): ReplicaStatus {
    return { name: this.name, reads: this.#reads, lagMs: this.#lagMs, appliedPosition: this.#applied };
  }
}
