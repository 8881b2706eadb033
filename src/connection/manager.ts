import { EventEmitter } from 'eventemitter3';
import { ReadScope } from '../context/read-scope.js';
import { currentFrame, runInFrame, scopedReads } from '../context/scope.js';
import { ConfigError, ConnectionNotFoundError, ReadTokenError } from '../errors.js';
import { decodeReadToken, encodeReadToken } from './replicas/read-token.js';
import { runTransaction, type Transaction } from './session/local-transaction.js';
import type { TransactionOptions } from './session/transaction-retry.js';
import { parseConnectionConfig, validateName, type ConnectionConfig } from './config.js';
import { Connection, type ConnectionStatus, type ConnectionWarning } from './connection.js';
import type { QueryEvent } from './query-event.js';
import { dialects } from './dialects/index.js';
import { probe } from './health.js';
import type { HealthReport } from './health-report.js';
import type { CircuitEvent } from './breaker.js';
import { HealthMonitor, type MonitorOptions } from './monitor.js';

/** Events a manager emits. */
export interface ConnectionManagerEvents {
  configured: (connection: Connection) => void;
  removed: (name: string) => void;
  /**
   * Something a connection reports once without failing a query, e.g. `E_PREPARE_REFUSED`
   * when the server would not prepare another statement. Without a listener it becomes
   * a process warning.
   */
  warning: (warning: ConnectionWarning) => void;
  /**
   * Every statement sent to one of the manager's databases, after it answered or failed
   * (see {@link QueryEvent}). Without a listener nothing is timed or built: a statement
   * costs one listener count.
   *
   * @example
   * ```ts
   * const count = (e: QueryEvent) => console.log(e.connection, e.sql, `${e.durationMs.toFixed(2)} ms`)
   * ConnectionManager.default.events.on('query', count)
   * // …
   * ConnectionManager.default.events.off('query', count)
   * ```
   */
  query: (event: QueryEvent) => void;
  /** `monitor()` found a connection down (its probe failed or timed out). */
  'connection:down': (report: HealthReport) => void;
  /** `monitor()` found a connection that was down answering again. */
  'connection:up': (report: HealthReport) => void;
  /** A connection's circuit breaker opened: its calls fail at once with `CircuitOpenError` (see the `breaker` option). */
  'circuit:open': (event: CircuitEvent) => void;
  /** The cool-down is over: the next call probes the database. */
  'circuit:halfOpen': (event: CircuitEvent) => void;
  /** A call reached the database again: calls go through. */
  'circuit:closed': (event: CircuitEvent) => void;
}

/**
 * A registry of named connections and aliases. Most applications use the default
 * instance through the static helpers (`ConnectionManager.configure(...)` is
 * `ConnectionManager.default.configure(...)`); tests and multi-tenant hosts can
 * create their own and pass it to `@Model({ manager })`.
 *
 * @example
 * ```ts
 * ConnectionManager.configure('primary', { driver: 'sqlite', database: 'app.db' })
 * ConnectionManager.configure('analytics', { url: process.env.ANALYTICS_URL })
 * ConnectionManager.alias('reporting', 'analytics')
 * ```
 */
export class ConnectionManager {
  /** The process-wide manager behind the static helpers and models without an explicit `manager`. */
  static readonly default = new ConnectionManager();

  readonly events = new EventEmitter<ConnectionManagerEvents>();
  /**
   * The most keys a `withCount` / `whereHas` across connections may carry from one
   * database to the other before it throws a `CrossConnectionLimitError` (per query:
   * `.crossConnectionKeyLimit(n)`). See docs/relations.md, "Limits".
   */
  crossConnectionKeyLimit = 10_000;
  readonly #connections = new Map<string, Connection>();
  readonly #aliases = new Map<string, string>();
  #monitor: HealthMonitor | undefined;

  /**
   * Registers a connection. Validates the config now (a {@link ConfigError} names the
   * bad field); connects on first use.
   */
  configure(name: string, config: ConnectionConfig): Connection {
    validateName(name);
    if (this.#connections.has(name)) throw new ConfigError('name', `a connection named "${name}" is already configured`, name);
    if (this.#aliases.has(name)) throw new ConfigError('name', `"${name}" is already an alias of "${this.#aliases.get(name)}"`, name);
    const settings = parseConnectionConfig(name, config, dialects);
    const connection = new Connection(settings, dialects[settings.driver], (warning) => this.#warn(warning), this.events, (event) => this.events.emit(`circuit:${event.state}`, event));
    this.#connections.set(name, connection);
    this.events.emit('configured', connection);
    return connection;
  }

  /**
   * Makes `alias` resolve to the connection `target` everywhere a name is accepted.
   * An alias may not shadow a connection, point to another alias, or be defined twice.
   */
  alias(alias: string, target: string): void {
    validateName(alias, 'alias');
    if (this.#connections.has(alias)) throw new ConfigError('alias', `"${alias}" is a configured connection; an alias may not shadow it`, alias);
    if (this.#aliases.has(alias)) throw new ConfigError('alias', `alias "${alias}" is already defined (to "${this.#aliases.get(alias)}")`, alias);
    if (this.#aliases.has(target)) throw new ConfigError('target', `"${target}" is itself an alias; point "${alias}" at a connection`, alias);
    if (!this.#connections.has(target)) throw new ConnectionNotFoundError(target, this.names(), this.aliases());
    this.#aliases.set(alias, target);
  }

  /** The connection for a name or alias; {@link ConnectionNotFoundError} lists what exists. */
  get(name: string): Connection {
    const connection = this.#connections.get(name) ?? this.#connections.get(this.#aliases.get(name) ?? '');
    if (!connection) throw new ConnectionNotFoundError(String(name), this.names(), this.aliases());
    return connection;
  }

  has(name: string): boolean {
    return this.#connections.has(name) || this.#aliases.has(name);
  }

  /** Configured connection names (not aliases). */
  names(): string[] {
    return [...this.#connections.keys()];
  }

  /** Defined aliases. */
  aliases(): string[] {
    return [...this.#aliases.keys()];
  }

  /** Closes a connection and forgets it, with the aliases pointing to it; removing an alias forgets only the alias. */
  async remove(name: string): Promise<void> {
    if (this.#aliases.delete(name)) return;
    const connection = this.get(name);
    this.#connections.delete(name);
    for (const [alias, target] of this.#aliases) if (target === name) this.#aliases.delete(alias);
    this.events.emit('removed', name);
    await connection.close();
  }

  /** Closes and forgets every connection and alias (and stops the monitor). */
  async closeAll(): Promise<void> {
    await this.#monitor?.stop();
    this.#monitor = undefined;
    const connections = [...this.#connections.values()];
    this.#connections.clear();
    this.#aliases.clear();
    await Promise.all(connections.map((c) => c.close()));
  }

  #warn(warning: ConnectionWarning): void {
    if (this.events.listenerCount('warning') > 0) this.events.emit('warning', warning);
    else process.emitWarning(warning.message, { code: `POLYRECORD_${warning.code}` });
  }

  /**
   * Pool and statement-cache figures of one connection (name or alias), or of every
   * connection. Reads counters only: nothing connects.
   *
   * @example
   * ```ts
   * const { statements } = ConnectionManager.status('primary')
   * console.log(`${statements.prepared} prepared, hit rate ${(statements.hitRate * 100).toFixed(1)}%`)
   * ```
   */
  status(name: string): ConnectionStatus;
  status(): ConnectionStatus[];
  status(name?: string): ConnectionStatus | ConnectionStatus[] {
    if (name !== undefined) return this.get(name).status();
    return [...this.#connections.values()].map((connection) => connection.status());
  }

  /**
   * Probes every connection every `intervalMs` (default 10 s) in the background and emits
   * `connection:down` / `connection:up` with the probe's {@link HealthReport} when one goes
   * down or comes back; `status()` shows each one's last probe. Calling it again replaces the
   * running monitor. Returns the function that stops it (it resolves once a round under way ends).
   *
   * @example
   * ```ts
   * const stop = ConnectionManager.default.monitor({ intervalMs: 5_000 })
   * ConnectionManager.default.events.on('connection:down', (r) => page(`${r.name}: ${r.error}`))
   * // at shutdown
   * await stop()
   * ```
   */
  monitor(options: MonitorOptions = {}): () => Promise<void> {
    const intervalMs = options.intervalMs ?? 10_000;
    if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new ConfigError('intervalMs', `monitor() needs a positive whole number of ms, got ${String(intervalMs)}`);
    void this.#monitor?.stop();
    const monitor = new HealthMonitor(
      {
        connections: () => this.#everyConnection(),
        down: (report) => this.events.emit('connection:down', report),
        up: (report) => this.events.emit('connection:up', report),
      },
      intervalMs,
    );
    this.#monitor = monitor;
    monitor.start();
    return () => monitor.stop();
  }

  /** Probes one connection (bounded by its `healthTimeoutMs`); never throws for a down database. */
  health(name: string): Promise<HealthReport>;
  /** Probes every connection in parallel. */
  health(): Promise<HealthReport[]>;
  health(name?: string): Promise<HealthReport | HealthReport[]> {
    if (name !== undefined) return probe(this.get(name));
    return Promise.all(this.#everyConnection().map(probe));
  }

  /** Every connection and every replica of one, for probes. */
  #everyConnection(): Connection[] {
    return [...this.#connections.values()].flatMap((connection) => [connection, ...connection.replicas]);
  }

  /**
   * Runs `fn` with every read in its async scope sent to the primary, none to a read replica
   * (a page that must show what was just written, a check before a write).
   *
   * @example
   * ```ts
   * const balance = await ConnectionManager.usingPrimary(() => Account.find(id))
   * ```
   */
  usingPrimary<T>(fn: () => T): T {
    return runInFrame({ primary: true }, fn);
  }

  /**
   * A token of what reads in the current scope must see: for each connection with replicas that
   * was written to (in this `withReadAfter` scope, or by the process outside any), the primary's
   * replication position after those writes. Carry it to the next request (a cookie, a header)
   * and pass it to {@link withReadAfter} there, so a replica answers only once it has applied
   * them. Asks each such primary for its position once.
   *
   * @example
   * ```ts
   * await order.save()
   * res.cookie('rw', await ConnectionManager.writeToken())
   * ```
   */
  async writeToken(): Promise<string> {
    const scope = scopedReads(currentFrame());
    const positions = new Map<string, string>();
    for (const connection of this.#connections.values()) {
      const position = await connection.replicaRouter?.tokenPosition(scope);
      if (position !== undefined) positions.set(connection.name, position);
    }
    return encodeReadToken(positions);
  }

  /**
   * Runs `fn` in a read-your-writes scope: its reads go to a replica only once it has applied
   * the writes `token` names (from {@link writeToken}, in another request or process) and every
   * write made inside `fn`; otherwise to the primary. `undefined` starts a scope with no token
   * (one per request keeps one request's writes from sending other requests' reads to the
   * primary). A token that is not one gives a `ReadTokenError`; names of connections this
   * manager does not have are ignored.
   *
   * @example
   * ```ts
   * app.use((req, res, next) => ConnectionManager.withReadAfter(req.cookies.rw, next))
   * ```
   */
  withReadAfter<T>(token: string | null | undefined, fn: () => T): T {
    const floors = token === undefined || token === null ? new Map<string, string>() : this.#readFloors(decodeReadToken(token));
    return runInFrame({ reads: new ReadScope(scopedReads(currentFrame()), floors) }, fn);
  }

  #readFloors(positions: Map<string, string>): Map<string, string> {
    const floors = new Map<string, string>();
    for (const [name, position] of positions) {
      const connection = this.#connections.get(name);
      const replication = connection?.dialect.replication;
      if (connection === undefined || replication === undefined) continue;
      if (!replication.isPosition(position)) throw new ReadTokenError(`read-after token: ${JSON.stringify(position.slice(0, 40))} is not a ${connection.driver} replication position (connection "${name}")`);
      floors.set(name, position);
    }
    return floors;
  }

  /**
   * Runs `fn` in a transaction on a connection. Every model query on that connection
   * inside `fn` (and anything it awaits) joins it; a nested call makes a savepoint.
   * A thrown error rolls back and is rethrown; otherwise resolves with `fn`'s result.
   * With `retry`, a transaction the database gave up on (deadlock, serialization failure,
   * a session lost before COMMIT) runs again from the start; see {@link TransactionOptions}.
   *
   * @example
   * ```ts
   * await manager.transaction('main', async () => {
   *   const from = await Account.query().forUpdate().findOrFail(1)
   *   // …
   * }, { retry: { attempts: 5 } })
   * ```
   */
  transaction<T>(name: string, fn: (trx: Transaction) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    // The session code is part of this layer (connection/session/): a local transaction needs one connection only.
    return runTransaction(this.get(name), fn, options);
  }

  /**
   * Runs `fn` with connection names remapped for every model in the async scope,
   * e.g. `{ primary: 'replica' }` sends models declared on `primary` to `replica`.
   */
  withConnections<T>(map: Record<string, string>, fn: () => T): T {
    if (!map || typeof map !== 'object') throw new ConfigError('map', 'withConnections() needs an object of { from: to } names');
    const remap = new Map<string, string>();
    for (const [from, to] of Object.entries(map)) {
      if (typeof to !== 'string') throw new ConfigError(from, 'must map to a connection name');
      this.get(to);
      remap.set(from, to);
    }
    return runInFrame({ remap }, fn);
  }

  static configure(name: string, config: ConnectionConfig): Connection {
    return ConnectionManager.default.configure(name, config);
  }
  static alias(alias: string, target: string): void {
    ConnectionManager.default.alias(alias, target);
  }
  static get(name: string): Connection {
    return ConnectionManager.default.get(name);
  }
  static has(name: string): boolean {
    return ConnectionManager.default.has(name);
  }
  static names(): string[] {
    return ConnectionManager.default.names();
  }
  static aliases(): string[] {
    return ConnectionManager.default.aliases();
  }
  static remove(name: string): Promise<void> {
    return ConnectionManager.default.remove(name);
  }
  static monitor(options?: MonitorOptions): () => Promise<void> {
    return ConnectionManager.default.monitor(options);
  }
  static closeAll(): Promise<void> {
    return ConnectionManager.default.closeAll();
  }
  static health(name: string): Promise<HealthReport>;
  static health(): Promise<HealthReport[]>;
  static health(name?: string): Promise<HealthReport | HealthReport[]> {
    return name === undefined ? ConnectionManager.default.health() : ConnectionManager.default.health(name);
  }
  static status(name: string): ConnectionStatus;
  static status(): ConnectionStatus[];
  static status(name?: string): ConnectionStatus | ConnectionStatus[] {
    return name === undefined ? ConnectionManager.default.status() : ConnectionManager.default.status(name);
  }
  static transaction<T>(name: string, fn: (trx: Transaction) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    return ConnectionManager.default.transaction(name, fn, options);
  }
  static withConnections<T>(map: Record<string, string>, fn: () => T): T {
    return ConnectionManager.default.withConnections(map, fn);
  }
  static usingPrimary<T>(fn: () => T): T {
    return ConnectionManager.default.usingPrimary(fn);
  }
  static writeToken(): Promise<string> {
    return ConnectionManager.default.writeToken();
  }
  static withReadAfter<T>(token: string | null | undefined, fn: () => T): T {
    return ConnectionManager.default.withReadAfter(token, fn);
  }
}
