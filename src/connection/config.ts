import { inspect } from 'node:util';
import { ConfigError } from '../errors.js';
import { DEFAULT_BREAKER, type BreakerSettings } from './breaker.js';

/** The canonical driver names. */
export type DriverName = 'sqlite' | 'postgresql' | 'mysql';

/** Driver names accepted in a config: the canonical ones plus common spellings. */
export type DriverInput = DriverName | 'postgres' | 'mariadb';

/** Pool bounds. SQLite always uses one connection per database (see docs/connections.md). */
export interface PoolConfig {
  min?: number;
  max?: number;
}

/**
 * What `ConnectionManager.configure(name, config)` accepts.
 *
 * @example
 * ```ts
 * ConnectionManager.configure('primary', { driver: 'sqlite', database: './app.db' })
 * ConnectionManager.configure('analytics', { url: 'postgres://app:secret@127.0.0.1:5432/analytics', pool: { max: 10 } })
 * ```
 */
export interface ConnectionConfig {
  /** Optional when `url` is given (taken from its scheme). */
  driver?: DriverInput;
  /** `postgres://`, `postgresql://`, `mysql://`, `mariadb://` or `sqlite:` URL. Fields given explicitly win over the URL's. */
  url?: string;
  /** Database name; for SQLite the file path or `:memory:`. */
  database?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  pool?: PoolConfig;
  /** Statements running longer are cancelled by the server (PostgreSQL `statement_timeout`, MariaDB `max_statement_time`, MySQL `max_execution_time`). On SQLite it bounds waits for a locked database. */
  queryTimeoutMs?: number;
  /** How long establishing a new connection may take. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Upper bound of a `health()` probe. Default 2 000 ms. */
  healthTimeoutMs?: number;
  /**
   * Most server-side prepared statements one pooled session keeps; the least recently
   * used is released on the server to make room. 0 prepares nothing. Default 256.
   */
  statementCacheSize?: number;
  /**
   * How many times the connection runs a statement shape before preparing it on the
   * server; shapes that run fewer times are sent unprepared. 1 prepares on first use. Default 5.
   */
  prepareThreshold?: number;
  /**
   * How many more times a statement that may safely run twice (a model read outside a
   * transaction, or a statement given `{ idempotent: true }`) runs when its session was
   * lost (`ConnectionLostError`: a killed session, a restarted server), each time on a fresh
   * session. 0 never retries. Default 1. Writes are never retried unless marked.
   */
  lostSessionRetries?: number;
  /**
   * A circuit breaker: after `failureThreshold` connection-level failures (lost sessions,
   * refused or timed-out connects) within `windowMs`, calls fail at once with
   * `CircuitOpenError` for `cooldownMs`; then one call probes the database. `true` uses the
   * defaults (5 failures in 10 s, 5 s open). Off unless given. The manager emits
   * `circuit:open`, `circuit:halfOpen` and `circuit:closed`.
   */
  breaker?: boolean | Partial<BreakerSettings>;
  /**
   * Per-connection limits, each off unless given: `maxConcurrent` sessions lent at once
   * (default: the pool's `max` when any limit is set), `maxQueued` callers waiting, a wait of
   * at most `queueTimeoutMs`, and `maxRows` rows per answer. A refused call fails at once with
   * `LimitExceededError`. On SQLite, whose one session is lent to one caller at a time,
   * `maxConcurrent` is 1 whatever is given; the queue limits bound the wait for that session.
   */
  limits?: ConnectionLimits;
  /**
   * Read replicas of this database (PostgreSQL streaming standbys, MariaDB GTID replicas): each
   * a URL, or a config whose missing fields come from this connection's (`{ host: 'replica-1' }`
   * is enough). Model reads outside transactions go to a replica; writes, transactions and
   * reads after a write in the same scope that the replica has not applied yet go to the
   * primary. See docs/replicas.md.
   *
   * @example
   * ```ts
   * ConnectionManager.configure('main', {
   *   url: 'postgres://app@db-primary/app',
   *   replicas: ['postgres://app@db-replica-1/app', { host: 'db-replica-2' }],
   *   maxLagMs: 5_000,
   * })
   * ```
   */
  replicas?: ReadonlyArray<string | ReplicaConfig>;
  /**
   * Chooses the replica for a read among those up (and within `maxLagMs`); undefined sends
   * the read to the primary. Default: round robin.
   */
  pick?: (replicas: readonly ReplicaCandidate[]) => ReplicaCandidate | undefined;
  /** A replica lagging further behind than this (ms) gets no reads until it catches up. Off unless given. */
  maxLagMs?: number;
  /** How old a replica's lag reading may be before a read measures it again, in ms. Default 1,000. */
  lagCheckMs?: number;
  /**
   * Where the database cannot tell replication positions (MariaDB without a binary log): how
   * long after a write reads in the same scope stay on the primary, in ms. Default 2,000.
   */
  stickyMs?: number;
  /** When no replica is up: read from the primary (`'primary'`, the default) or fail with `ReplicaUnavailableError` (`'fail'`). */
  replicaFallback?: 'primary' | 'fail';
}

/** One entry of `replicas` given as an object: any connection field, defaulting to the primary's. */
export type ReplicaConfig = Omit<ConnectionConfig, (typeof REPLICA_OPTIONS)[number] | 'replicas'>;

/** A replica a `pick` function may choose. */
export interface ReplicaCandidate {
  /** `<connection>/replica-<n>`, as in query events and `status()`. */
  readonly name: string;
  /** Its place in `replicas`, from 0. */
  readonly index: number;
  /** Its last measured lag in ms (undefined unless `maxLagMs` is set). */
  readonly lagMs: number | undefined;
}

/** The normalized replica options of a connection (see `ConnectionConfig.replicas`). */
export interface ReplicaSettings {
  readonly replicas: readonly ConnectionSettings[];
  readonly pick: ((replicas: readonly ReplicaCandidate[]) => ReplicaCandidate | undefined) | undefined;
  readonly maxLagMs: number | undefined;
  readonly lagCheckMs: number;
  readonly stickyMs: number;
  readonly fallback: 'primary' | 'fail';
}

/** Per-connection limits (the `limits` connection option); each is off unless given. */
export interface ConnectionLimits {
  /** Sessions lent out at once (statements outside transactions, and transactions), below the pool's own `max`. */
  readonly maxConcurrent?: number;
  /** Callers that may wait for a session; one more fails at once with `LimitExceededError`. */
  readonly maxQueued?: number;
  /** Longest wait for a session, in ms; then the caller fails with `LimitExceededError`. */
  readonly queueTimeoutMs?: number;
  /** Most rows one statement may answer; a larger answer fails with `LimitExceededError`. */
  readonly maxRows?: number;
}

/** Defaults of the statement cache (the values pgjdbc uses: a few hundred statements, prepared from the fifth run). */
export const DEFAULT_STATEMENT_CACHE_SIZE = 256;
export const DEFAULT_PREPARE_THRESHOLD = 5;
/** mysql2 allocates its statement cache up front, and no server keeps this many plans per session usefully. */
const MAX_STATEMENT_CACHE_SIZE = 65_535;

/**
 * What config validation needs to know of each driver; the dialect adapters answer it (the
 * manager passes its registry), so a new dialect needs no edit here beyond its name in
 * {@link DriverName}.
 */
export interface DriverFacts {
  readonly driver: DriverName;
  /** Other names accepted in `driver` and as URL schemes. */
  readonly aliases: readonly string[];
  readonly displayName: string;
  /** A URL names a file, not a server. */
  readonly fileUrls: boolean;
  readonly defaultPool: Required<PoolConfig>;
  /** Present where the database has read replicas. */
  readonly replication: unknown;
}

/** One {@link DriverFacts} per canonical driver name. */
export type DriverRegistry = { readonly [D in DriverName]: DriverFacts };

/** Every name a driver is known by (in `driver`, and as a URL scheme) → its canonical name. */
function spellingsOf(drivers: DriverRegistry): Readonly<Record<string, DriverName>> {
  return Object.fromEntries(Object.values(drivers).flatMap((facts) => [facts.driver, ...facts.aliases].map((spelling) => [spelling, facts.driver])));
}

/** The drivers as an error message lists them: `sqlite (sqlite3), postgresql (postgres), …`. */
function driverList(drivers: DriverRegistry): string {
  return Object.values(drivers)
    .map((facts) => (facts.aliases.length > 0 ? `${facts.driver} (${facts.aliases.join(', ')})` : facts.driver))
    .join(', ');
}

/** Options about the replicas as a whole: given on the primary, not on a replica. */
const REPLICA_OPTIONS = ['pick', 'maxLagMs', 'lagCheckMs', 'stickyMs', 'replicaFallback'] as const;
/** Where a replica is: taken from its own entry when it gives a URL, else from the primary's. */
const LOCATION_FIELDS = ['driver', 'url', 'database', 'host', 'port', 'username', 'password'] as const;
const KNOWN_FIELDS = new Set(['driver', 'url', 'database', 'host', 'port', 'username', 'password', 'pool', 'queryTimeoutMs', 'connectTimeoutMs', 'healthTimeoutMs', 'statementCacheSize', 'prepareThreshold', 'lostSessionRetries', 'breaker', 'limits', 'replicas', ...REPLICA_OPTIONS]);

/** A replica's breaker when the primary has none: one lost connection sends reads elsewhere for 5 s. */
const REPLICA_BREAKER: BreakerSettings = Object.freeze({ failureThreshold: 1, windowMs: 10_000, cooldownMs: 5_000 });

const NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Checks a connection or alias name; names appear in errors and logs, so keep them printable. */
export function validateName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new ConfigError(field, `must be 1-64 characters of letters, digits, "_", ".", ":" or "-" (got ${describe(name)})`);
  }
  return name;
}

interface SettingsFields {
  driver: DriverName;
  database: string;
  host: string | undefined;
  port: number | undefined;
  username: string | undefined;
  password: string | undefined;
  pool: Required<PoolConfig>;
  queryTimeoutMs: number | undefined;
  connectTimeoutMs: number;
  healthTimeoutMs: number;
  statementCacheSize: number;
  prepareThreshold: number;
  lostSessionRetries: number;
  breaker: BreakerSettings | undefined;
  limits: ConnectionLimits | undefined;
  replication: ReplicaSettings | undefined;
}

/**
 * A validated, normalized connection configuration. The password is held in a
 * private field: it is absent from `JSON.stringify`, `util.inspect` and `String()`.
 */
export class ConnectionSettings {
  readonly name: string;
  readonly driver: DriverName;
  readonly database: string;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly username: string | undefined;
  readonly pool: Readonly<Required<PoolConfig>>;
  readonly queryTimeoutMs: number | undefined;
  readonly connectTimeoutMs: number;
  readonly healthTimeoutMs: number;
  readonly statementCacheSize: number;
  readonly prepareThreshold: number;
  readonly lostSessionRetries: number;
  readonly breaker: BreakerSettings | undefined;
  readonly limits: ConnectionLimits | undefined;
  /** Read replicas and how reads choose among them; undefined without `replicas`. */
  readonly replication: ReplicaSettings | undefined;
  readonly #password: string | undefined;

  constructor(name: string, fields: SettingsFields) {
    this.name = name;
    this.driver = fields.driver;
    this.database = fields.database;
    this.host = fields.host;
    this.port = fields.port;
    this.username = fields.username;
    this.pool = Object.freeze({ ...fields.pool });
    this.queryTimeoutMs = fields.queryTimeoutMs;
    this.connectTimeoutMs = fields.connectTimeoutMs;
    this.healthTimeoutMs = fields.healthTimeoutMs;
    this.statementCacheSize = fields.statementCacheSize;
    this.prepareThreshold = fields.prepareThreshold;
    this.lostSessionRetries = fields.lostSessionRetries;
    this.breaker = fields.breaker;
    this.limits = fields.limits;
    this.replication = fields.replication;
    this.#password = fields.password;
    Object.freeze(this);
  }

  /** The password, for handing to the driver only. */
  get password(): string | undefined {
    return this.#password;
  }

  get hasPassword(): boolean {
    return this.#password !== undefined && this.#password !== '';
  }

  /** Replaces every occurrence of the password in `text` (for error messages from drivers). */
  redact(text: string): string {
    const secret = this.#password;
    if (!secret) return text;
    let out = text.split(secret).join('***');
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join('***');
    return out;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      driver: this.driver,
      database: this.database,
      host: this.host,
      port: this.port,
      username: this.username,
      password: this.hasPassword ? '***' : undefined,
      pool: this.pool,
      queryTimeoutMs: this.queryTimeoutMs,
      statementCacheSize: this.statementCacheSize,
      prepareThreshold: this.prepareThreshold,
      lostSessionRetries: this.lostSessionRetries,
      breaker: this.breaker,
      limits: this.limits,
      ...(this.replication === undefined ? {} : { replicas: this.replication.replicas.map((replica) => replica.toJSON()), maxLagMs: this.replication.maxLagMs, stickyMs: this.replication.stickyMs, replicaFallback: this.replication.fallback }),
    };
  }

  toString(): string {
    const where = this.host === undefined && this.port === undefined ? this.database : `${this.username ?? ''}@${this.host ?? ''}:${this.port ?? ''}/${this.database}`;
    return `ConnectionSettings(${this.name}: ${this.driver} ${where})`;
  }

  [inspect.custom](): string {
    return `ConnectionSettings ${inspect(this.toJSON())}`;
  }
}

/** Validates a user config and returns normalized settings, or throws a {@link ConfigError} naming the field. */
export function parseConnectionConfig(name: string, input: ConnectionConfig, drivers: DriverRegistry): ConnectionSettings {
  if (input === null || typeof input !== 'object') {
    throw new ConfigError('config', 'must be an object', name);
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(key)) throw new ConfigError(key, `unknown option; known options are ${[...KNOWN_FIELDS].join(', ')}`, name);
  }
  const spellings = spellingsOf(drivers);
  const fromUrl = input.url === undefined ? {} : parseUrl(name, input.url, drivers, spellings);
  const driverInput = input.driver ?? fromUrl.driver;
  if (driverInput === undefined) throw new ConfigError('driver', `is required (one of ${driverList(drivers)}) unless a url is given`, name);
  const driver = typeof driverInput === 'string' ? spellings[driverInput.toLowerCase()] : undefined;
  if (!driver) throw new ConfigError('driver', `unknown driver ${describe(driverInput)}; use one of ${driverList(drivers)}`, name);
  if (fromUrl.driver && input.driver && spellings[input.driver] !== fromUrl.driver) {
    throw new ConfigError('url', `scheme says ${fromUrl.driver} but driver is ${input.driver}`, name);
  }

  const database = input.database ?? fromUrl.database;
  if (typeof database !== 'string' || database === '') throw new ConfigError('database', 'is required (for SQLite: a file path or ":memory:")', name);

  const port = input.port ?? fromUrl.port;
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new ConfigError('port', `must be an integer between 1 and 65535 (got ${describe(port)})`, name);
  }
  const host = optionalString(name, 'host', input.host ?? fromUrl.host);
  const username = optionalString(name, 'username', input.username ?? fromUrl.username);
  const password = optionalString(name, 'password', input.password ?? fromUrl.password);

  const pool = { ...drivers[driver].defaultPool };
  if (input.pool !== undefined) {
    if (input.pool === null || typeof input.pool !== 'object') throw new ConfigError('pool', 'must be an object { min, max }', name);
    if (input.pool.min !== undefined) pool.min = nonNegativeInt(name, 'pool.min', input.pool.min);
    if (input.pool.max !== undefined) pool.max = nonNegativeInt(name, 'pool.max', input.pool.max);
    if (pool.max < 1) throw new ConfigError('pool.max', 'must be at least 1', name);
    if (pool.min > pool.max) throw new ConfigError('pool.min', `must not exceed pool.max (${pool.max})`, name);
  }
  const queryTimeoutMs = input.queryTimeoutMs === undefined ? undefined : positiveInt(name, 'queryTimeoutMs', input.queryTimeoutMs);
  const connectTimeoutMs = input.connectTimeoutMs === undefined ? 10_000 : positiveInt(name, 'connectTimeoutMs', input.connectTimeoutMs);
  const healthTimeoutMs = input.healthTimeoutMs === undefined ? 2_000 : positiveInt(name, 'healthTimeoutMs', input.healthTimeoutMs);
  const statementCacheSize = input.statementCacheSize === undefined ? DEFAULT_STATEMENT_CACHE_SIZE : nonNegativeInt(name, 'statementCacheSize', input.statementCacheSize, MAX_STATEMENT_CACHE_SIZE);
  const prepareThreshold = input.prepareThreshold === undefined ? DEFAULT_PREPARE_THRESHOLD : positiveInt(name, 'prepareThreshold', input.prepareThreshold);

  const lostSessionRetries = input.lostSessionRetries === undefined ? 1 : nonNegativeInt(name, 'lostSessionRetries', input.lostSessionRetries, 10);
  const breaker = breakerSettings(name, input.breaker);
  const limits = connectionLimits(name, input.limits, pool.max);
  const replication = replicaSettings(name, input, driver, drivers);

  return new ConnectionSettings(name, { driver, database, host, port, username, password, pool, queryTimeoutMs, connectTimeoutMs, healthTimeoutMs, statementCacheSize, prepareThreshold, lostSessionRetries, breaker, limits, replication });
}

/**
 * The `replicas` of a connection, each parsed as a connection of its own named
 * `<name>/replica-<n>`: an entry's missing fields come from the primary's config (where it is
 * from the primary's too, unless the entry gives a URL), and it gets a breaker even when the
 * primary has none, so a replica that is down is skipped at once.
 */
function replicaSettings(name: string, input: ConnectionConfig, driver: DriverName, drivers: DriverRegistry): ReplicaSettings | undefined {
  const given = input.replicas;
  if (given === undefined) {
    const stray = REPLICA_OPTIONS.find((option) => input[option] !== undefined);
    if (stray !== undefined) throw new ConfigError(stray, 'applies to read replicas: give `replicas` too', name);
    return undefined;
  }
  if (!Array.isArray(given) || given.length === 0) throw new ConfigError('replicas', 'must be a non-empty array of URLs or configs', name);
  if (drivers[driver].replication === undefined) throw new ConfigError('replicas', `${drivers[driver].displayName} has no read replicas`, name);
  const shared: Record<string, unknown> = { ...input, breaker: input.breaker ?? REPLICA_BREAKER };
  for (const option of [...REPLICA_OPTIONS, 'replicas']) delete shared[option];
  const replicas = given.map((entry: unknown, index) => {
    const field = `replicas[${index}]`;
    const own = typeof entry === 'string' ? { url: entry } : entry;
    if (own === null || typeof own !== 'object' || Array.isArray(own)) throw new ConfigError(field, 'must be a URL or a config object', name);
    if ('replicas' in own || REPLICA_OPTIONS.some((option) => option in own)) throw new ConfigError(field, `a replica takes connection fields only; give ${REPLICA_OPTIONS.join(', ')} on the primary`, name);
    const base = { ...shared };
    if ('url' in own) for (const location of LOCATION_FIELDS) delete base[location];
    const settings = parseConnectionConfig(`${name}/replica-${index + 1}`, { ...base, ...own } as ConnectionConfig, drivers);
    if (settings.driver !== driver) throw new ConfigError(field, `is a ${settings.driver} database but the primary is ${driver}`, name);
    return settings;
  });
  const pick = input.pick;
  if (pick !== undefined && typeof pick !== 'function') throw new ConfigError('pick', 'must be a function (replicas) => replica | undefined', name);
  const fallback = input.replicaFallback ?? 'primary';
  if (fallback !== 'primary' && fallback !== 'fail') throw new ConfigError('replicaFallback', `must be 'primary' or 'fail' (got ${describe(fallback)})`, name);
  return Object.freeze({
    replicas: Object.freeze(replicas),
    pick,
    maxLagMs: input.maxLagMs === undefined ? undefined : nonNegativeInt(name, 'maxLagMs', input.maxLagMs),
    lagCheckMs: input.lagCheckMs === undefined ? 1_000 : positiveInt(name, 'lagCheckMs', input.lagCheckMs),
    stickyMs: input.stickyMs === undefined ? 2_000 : nonNegativeInt(name, 'stickyMs', input.stickyMs),
    fallback,
  });
}

const LIMIT_NAMES = ['maxConcurrent', 'maxQueued', 'queueTimeoutMs', 'maxRows'] as const;

function connectionLimits(name: string, given: unknown, poolMax: number): ConnectionLimits | undefined {
  if (given === undefined) return undefined;
  if (given === null || typeof given !== 'object') throw new ConfigError('limits', 'must be an object { maxConcurrent, maxQueued, queueTimeoutMs, maxRows }', name);
  const limits: Record<string, number> = {};
  for (const [key, value] of Object.entries(given)) {
    if (!(LIMIT_NAMES as readonly string[]).includes(key)) throw new ConfigError(`limits.${key}`, `unknown limit (known: ${LIMIT_NAMES.join(', ')})`, name);
    if (value !== undefined) limits[key] = key === 'maxQueued' ? nonNegativeInt(name, `limits.${key}`, value) : positiveInt(name, `limits.${key}`, value);
  }
  // A queue bound means nothing without a bound on what is lent: the pool's size, unless given.
  if (limits.maxConcurrent === undefined && (limits.maxQueued !== undefined || limits.queueTimeoutMs !== undefined)) limits.maxConcurrent = poolMax;
  return Object.freeze(limits as ConnectionLimits);
}

function breakerSettings(name: string, given: unknown): BreakerSettings | undefined {
  if (given === undefined || given === false) return undefined;
  if (given === true) return DEFAULT_BREAKER;
  if (given === null || typeof given !== 'object') throw new ConfigError('breaker', 'must be true, false or { failureThreshold, windowMs, cooldownMs }', name);
  const settings: Record<string, number> = { ...DEFAULT_BREAKER };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in DEFAULT_BREAKER)) throw new ConfigError(`breaker.${key}`, 'unknown option (known: failureThreshold, windowMs, cooldownMs)', name);
    if (value !== undefined) settings[key] = positiveInt(name, `breaker.${key}`, value);
  }
  return Object.freeze(settings as unknown as BreakerSettings);
}

interface UrlParts {
  driver?: DriverName;
  database?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
}

function parseUrl(name: string, url: unknown, drivers: DriverRegistry, spellings: Readonly<Record<string, DriverName>>): UrlParts {
  if (typeof url !== 'string') throw new ConfigError('url', 'must be a string', name);
  const scheme = /^([a-z0-9+]+):/i.exec(url)?.[1]?.toLowerCase();
  const driver = scheme === undefined ? undefined : spellings[scheme];
  // The URL itself is never echoed back: it may contain the password.
  if (!driver) throw new ConfigError('url', `scheme must be one of ${Object.keys(spellings).map((spelling) => `${spelling}:`).join(', ')}`, name);
  // A bad %-escape is a config error too (decodeURIComponent would throw a bare URIError).
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new ConfigError('url', 'has an invalid percent-encoding (write "%" as "%25")', name);
    }
  };
  if (drivers[driver].fileUrls) {
    const path = url.slice(url.indexOf(':') + 1).replace(/^\/\//, '');
    return { driver, database: path === '' ? undefined : decode(path) };
  }
  // Without "//" the URL has no authority and "user:password@host/db" would be taken for the database name.
  if (!url.slice(scheme!.length + 1).startsWith('//')) throw new ConfigError('url', `must start with ${scheme}:// (e.g. ${scheme}://user:password@host:port/database)`, name);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('url', 'is not a valid URL', name);
  }
  const port = parsed.port === '' ? undefined : Number(parsed.port);
  const database = decode(parsed.pathname.replace(/^\//, ''));
  return {
    driver,
    host: parsed.hostname.replace(/^\[|\]$/g, '') || undefined,
    port,
    database: database || undefined,
    username: parsed.username ? decode(parsed.username) : undefined,
    password: parsed.password ? decode(parsed.password) : undefined,
  };
}

function optionalString(name: string, field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ConfigError(field, `must be a string (got ${field === 'password' ? typeof value : describe(value)})`, name);
  return value;
}

function nonNegativeInt(name: string, field: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new ConfigError(field, `must be a non-negative integer${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''} (got ${describe(value)})`, name);
  }
  return value;
}

function positiveInt(name: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ConfigError(field, `must be a positive integer (got ${describe(value)})`, name);
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
