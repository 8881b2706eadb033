import { currentFrame, primaryForced, scopedReads } from '../../context/scope.js';
import { ReadScope } from '../../context/read-scope.js';
import { CircuitOpenError, ConnectionLostError, LimitExceededError, ReplicaUnavailableError, SerializationFailureError } from '../../errors.js';
import type { ReplicaCandidate, ReplicaSettings } from '../config.js';
import type { ExecOptions, ExecResult } from '../dialects/dialect.js';
import type { ReplicationSupport } from '../dialects/replication.js';
import { firstValue, type Replica, type ReplicaConnection } from './replica.js';

/** Runs a statement on the primary itself (never routed again). */
export type PrimaryExecute = (sql: string, bindings: readonly unknown[], options: ExecOptions) => ExecResult | Promise<ExecResult>;

const POSITION: ExecOptions = Object.freeze({ prepare: 'never' });
/** Reads in scope must go to the primary (a write whose position cannot be read, within `stickyMs`). */
const ON_PRIMARY = Symbol('primary');

/**
 * A failure that says the replica, not the statement, is the problem: it is passed over and the
 * read goes elsewhere. A standby also cancels a read that conflicts with replay (PostgreSQL
 * reports it as a serialization failure); the primary has no such conflict.
 */
function replicaTrouble(error: unknown): boolean {
  return error instanceof ConnectionLostError || error instanceof CircuitOpenError || error instanceof LimitExceededError || error instanceof SerializationFailureError;
}

/**
 * Sends a connection's autocommit reads to its replicas and keeps read-your-writes: a read in a
 * scope that wrote (or was given a token) goes to a replica only once that replica has applied
 * the write's position, otherwise to the primary. Positions are read lazily: a write costs
 * nothing extra; the first read after it asks the primary where it is (one statement shared by
 * every read waiting on the same writes) and, when its cached position is older, the replica.
 * Outside any `withReadAfter` scope the whole process is the scope.
 */
export class ReplicaRouter<C extends ReplicaConnection = ReplicaConnection> {
  readonly #connection: string;
  readonly #settings: ReplicaSettings;
  readonly #replication: ReplicationSupport | undefined;
  readonly #replicas: readonly Replica<C>[];
  readonly #primary: PrimaryExecute;
  readonly #processScope = new ReadScope(undefined);
  #next = 0;
  /** Writes finished on the primary so far (numbers the writes for {@link ReadScope}). */
  #writes = 0;
  #position: { readonly writes: number; readonly position: string | undefined } | undefined;
  #positionQuery: { readonly writes: number; readonly answer: Promise<string | undefined> } | undefined;
  /** The primary said it cannot tell positions (MariaDB without a binary log): the timer decides. */
  #positionsUnknown = false;

  constructor(connection: string, settings: ReplicaSettings, replicas: readonly Replica<C>[], replication: ReplicationSupport | undefined, primary: PrimaryExecute) {
    this.#connection = connection;
    this.#settings = settings;
    this.#replicas = replicas;
    this.#replication = replication;
    this.#primary = primary;
  }

  get replicas(): readonly Replica<C>[] {
    return this.#replicas;
  }

  /** A write (or a transaction) on the primary finished: reads in this scope must see it. */
  noteWrite(): void {
    this.#writes++;
    (scopedReads(currentFrame()) ?? this.#processScope).noteWrite(this.#connection, this.#writes, performance.now());
  }

  /** Runs an autocommit read on a replica that may answer it, or on the primary. */
  read(sql: string, bindings: readonly unknown[], options: ExecOptions): Promise<ExecResult> {
    const frame = currentFrame();
    if (primaryForced(frame)) return this.#onPrimary(sql, bindings, options);
    return this.#route(scopedReads(frame) ?? this.#processScope, sql, bindings, options);
  }

  async #route(scope: ReadScope, sql: string, bindings: readonly unknown[], options: ExecOptions): Promise<ExecResult> {
    const targets = await this.#targets(scope);
    if (targets === ON_PRIMARY) return this.#onPrimary(sql, bindings, options);
    const passedOver: { name: string; reason: string }[] = [];
    let behind = false;
    for (const replica of await this.#candidates(passedOver)) {
      try {
        if (!replica.hasApplied(targets)) {
          behind = true;
          continue;
        }
        return await replica.read(sql, bindings, options);
      } catch (error) {
        if (!replicaTrouble(error)) throw error;
        passedOver.push({ name: replica.name, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    if (!behind && passedOver.length > 0 && this.#settings.fallback === 'fail') throw new ReplicaUnavailableError(this.#connection, passedOver);
    return this.#onPrimary(sql, bindings, options);
  }

  #onPrimary(sql: string, bindings: readonly unknown[], options: ExecOptions): Promise<ExecResult> {
    try {
      return Promise.resolve(this.#primary(sql, bindings, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The positions a read in `scope` must see (none: any replica will do), or {@link ON_PRIMARY}.
   * Writes in scope whose position is not known yet are settled first.
   */
  async #targets(scope: ReadScope): Promise<readonly string[] | typeof ON_PRIMARY> {
    const need = scope.requirement(this.#connection);
    if (need === undefined) return [];
    if (need.pending === 0) return need.floors;
    const position = await this.#primaryPosition(need.pending);
    if (position === undefined && performance.now() - need.pendingAt < this.#settings.stickyMs) return ON_PRIMARY;
    scope.settle(this.#connection, need.pending, position, this.#replication!.later);
    return position === undefined ? need.floors : [...need.floors, position];
  }

  /**
   * The primary's position once its first `writes` writes finished: a position read after them
   * covers them, so one statement serves every read waiting for writes up to the time it was sent.
   */
  #primaryPosition(writes: number): Promise<string | undefined> {
    if (this.#replication === undefined || this.#positionsUnknown) return Promise.resolve(undefined);
    if (this.#position !== undefined && this.#position.writes >= writes) return Promise.resolve(this.#position.position);
    if (this.#positionQuery !== undefined && this.#positionQuery.writes >= writes) return this.#positionQuery.answer;
    const covers = this.#writes;
    const answer = this.#onPrimary(this.#replication.primaryPositionSql, [], POSITION).then((result) => {
      const value = firstValue(result);
      const position = typeof value === 'string' && value !== '' ? value : undefined;
      if (position === undefined) this.#positionsUnknown = true;
      if (this.#position === undefined || this.#position.writes < covers) this.#position = { writes: covers, position };
      return position;
    });
    const query = { writes: covers, answer };
    this.#positionQuery = query;
    const clear = () => {
      if (this.#positionQuery === query) this.#positionQuery = undefined;
    };
    answer.then(clear, clear);
    return answer;
  }

  /** A token's worth of what reads in `scope` must see: the latest position, or undefined when none is needed or known. */
  async tokenPosition(scope: ReadScope | undefined): Promise<string | undefined> {
    const targets = await this.#targets(scope ?? this.#processScope);
    if (targets === ON_PRIMARY || targets.length === 0) return undefined;
    return targets.reduce((a, b) => this.#replication!.later(a, b));
  }

  /** The replicas a read may try, in the order to try them: up, within `maxLagMs`, chosen by `pick` or in turn. */
  async #candidates(passedOver: { name: string; reason: string }[]): Promise<Replica<C>[]> {
    const up: Replica<C>[] = [];
    for (const replica of this.#replicas) {
      if (!replica.connection.admitsCalls) passedOver.push({ name: replica.name, reason: 'circuit open' });
      else up.push(replica);
    }
    const fresh = this.#settings.maxLagMs === undefined ? up : await this.#withinLag(up, this.#settings.maxLagMs, passedOver);
    if (fresh.length === 0) return fresh;
    const pick = this.#settings.pick;
    if (pick !== undefined) {
      const chosen = pick(fresh.map((replica): ReplicaCandidate => ({ name: replica.name, index: replica.index, lagMs: replica.lagMs })));
      const replica = chosen === undefined ? undefined : fresh.find((r) => r.index === chosen.index);
      return replica === undefined ? [] : [replica];
    }
    const start = this.#next++ % fresh.length;
    return [...fresh.slice(start), ...fresh.slice(0, start)];
  }

  async #withinLag(replicas: readonly Replica<C>[], maxLagMs: number, passedOver: { name: string; reason: string }[]): Promise<Replica<C>[]> {
    const lags = await Promise.all(replicas.map((replica) => replica.lag(this.#settings.lagCheckMs).catch((error: unknown) => error)));
    return replicas.filter((replica, i) => {
      const lag = lags[i];
      if (typeof lag === 'number' && lag <= maxLagMs) return true;
      if (lag !== undefined && typeof lag !== 'number' && !replicaTrouble(lag)) throw lag;
      passedOver.push({ name: replica.name, reason: lag === undefined ? 'not applying changes (replication stopped)' : typeof lag === 'number' ? `${Math.round(lag)} ms behind (maxLagMs ${maxLagMs})` : lag instanceof Error ? lag.message : String(lag) });
      return false;
    });
  }
}
