import { LruMap } from '../util/lru-map.js';
import type { DriverConnection, PreparePolicy, PreparedStatement } from './dialects/dialect.js';

/** The cache's figures for one named connection, summed over its pooled sessions. */
export interface StatementCacheStats {
  /** Most statements one session keeps prepared (`statementCacheSize`). */
  readonly size: number;
  /** Runs of a shape before it is prepared (`prepareThreshold`). */
  readonly prepareThreshold: number;
  /** Open sessions (pooled driver connections) that have run a preparable statement. */
  readonly sessions: number;
  /** Statements prepared right now, all sessions together. */
  readonly prepared: number;
  /** Statements prepared on the fullest session: never more than `size`. */
  readonly largestSession: number;
  /** Runs that found their statement already prepared on the session. */
  readonly hits: number;
  /** Runs of a preparable statement that did not: they prepared it, or ran unprepared below the threshold. */
  readonly misses: number;
  /** `hits / (hits + misses)`, 0 before the first run. */
  readonly hitRate: number;
  /** Statements prepared so far. */
  readonly prepares: number;
  /** Statements released on the server to make room. */
  readonly evictions: number;
  /** Prepares the server refused (a full server-wide statement limit, out of memory): each ran unprepared instead. */
  readonly refused: number;
  /**
   * Statements prepared again so the server re-costs their plan (PostgreSQL): see
   * {@link StatementCache}. Counted in `prepares` too, not in `evictions`.
   */
  readonly replans: number;
}

/** After the server refuses to prepare, new statements run unprepared for this long (hits still use what is prepared). */
const REFUSAL_BACKOFF_MS = 30_000;

/**
 * Where the server caches plans: runs of a statement on one session before it is
 * prepared again the first time; the interval then doubles up to {@link MAX_REPLAN_INTERVAL}.
 * PostgreSQL settles on a generic plan after five runs, so the first re-cost comes soon after.
 */
const FIRST_REPLAN = 16;
/** The longest a plan is kept (in runs): a re-prepare costs one round trip and five custom plans, under 0.1% of 1,024 runs. */
const MAX_REPLAN_INTERVAL = 1_024;

/** A prepared statement with the cache's own counts. */
interface CachedStatement extends PreparedStatement {
  /** Runs on this session since it was prepared. */
  runs: number;
  /** After this many runs it is prepared again (Infinity where the server re-plans by itself). */
  readonly replanAt: number;
}

/** The statements prepared on one driver session, most recently used last. */
class SessionStatements {
  readonly byText: LruMap<string, CachedStatement>;
  /** Evicted, not yet released on the server. */
  evicted: PreparedStatement[] = [];
  #sequence = 0;

  constructor(size: number) {
    this.byText = new LruMap(size);
  }

  /** A name never used before on this session, so a driver's own bookkeeping can never confuse two texts. */
  nextName(): string {
    return `polyrecord_${(this.#sequence++).toString(36)}`;
  }
}

/**
 * The bounded cache of server-side prepared statements of one named connection.
 * Each pooled session keeps at most `size` statements, least recently used released
 * first; a text is prepared only once the connection has seen it `prepareThreshold`
 * times, so one-off texts never occupy server memory. The cache decides; the dialect
 * adapter prepares, runs and releases.
 *
 * Where the server caches a plan per prepared statement (PostgreSQL), a statement is
 * also prepared again after 16 runs on its session, again after 32 more, 64 more, …,
 * and then every 1,024 runs.
 * PostgreSQL costs a statement's generic plan once, against the table sizes of that
 * moment, and keeps it until the table is analyzed or altered; a table that grew tenfold
 * meanwhile (a bulk copy into a fresh table) is then read with a plan made for a small
 * one, such as a sequential scan that compares every row with every value of an IN
 * list. Preparing again makes the server plan against the table as it is now, so a plan
 * is never made for a table much smaller than the one it reads.
 */
export class StatementCache {
  readonly size: number;
  readonly prepareThreshold: number;
  readonly #sessions = new Map<DriverConnection, SessionStatements>();
  /** How often each not-yet-prepared text has run, across the pool (bounded too: counting is for repeating shapes). */
  readonly #seen: LruMap<string, number>;
  #hits = 0;
  #misses = 0;
  #prepares = 0;
  #evictions = 0;
  #refused = 0;
  #replans = 0;
  #refusedUntil = 0;
  /** Whether statements are prepared again as their runs double (see the class comment). */
  readonly #replanning: boolean;
  /** Evicted statements not yet handed out for release, all sessions together (0 on the hot path). */
  #unreleased = 0;

  /** `replanning`: the server caches plans that stop following the tables' sizes (the dialect says). */
  constructor(size: number, prepareThreshold: number, replanning = false) {
    this.size = size;
    this.#replanning = replanning;
    this.prepareThreshold = prepareThreshold;
    this.#seen = new LruMap(Math.max(256, size * 4));
  }

  /**
   * Decides how `sql` runs on `session` under `policy`, and records it: the session's
   * prepared statement to use (new ones are prepared by their first run), or undefined
   * to run unprepared. What had to go to make room is handed out once by {@link takeEvicted}.
   * The hit path allocates nothing: it is every model query's.
   */
  plan(session: DriverConnection, sql: string, policy: PreparePolicy): PreparedStatement | undefined {
    if (policy === 'never' || this.size === 0) return undefined;
    let statements = this.#sessions.get(session);
    if (statements === undefined) this.#sessions.set(session, (statements = new SessionStatements(this.size)));
    const statement = statements.byText.get(sql);
    if (statement !== undefined) {
      this.#hits++;
      if (++statement.runs < statement.replanAt) return statement;
      // Released like an eviction, and prepared again under a new name by this run.
      statements.evicted.push(statement);
      this.#unreleased++;
      this.#replans++;
      this.#prepares++;
      return this.#store(statements, sql, Math.min(statement.replanAt * 2, MAX_REPLAN_INTERVAL));
    }
    this.#misses++;
    if (!this.#due(sql)) return undefined;
    this.#prepares++;
    return this.#store(statements, sql, this.#replanning ? FIRST_REPLAN : Infinity);
  }

  #store(statements: SessionStatements, sql: string, replanAt: number): CachedStatement {
    const created: CachedStatement = { sql, name: statements.nextName(), handle: undefined, runs: 1, replanAt };
    for (const [, old] of statements.byText.set(sql, created)) {
      statements.evicted.push(old);
      this.#evictions++;
      this.#unreleased++;
    }
    return created;
  }

  /** The statements `plan()` evicted on this session and that still need releasing on the server. */
  takeEvicted(session: DriverConnection): PreparedStatement[] | undefined {
    if (this.#unreleased === 0) return undefined;
    const statements = this.#sessions.get(session);
    if (statements === undefined || statements.evicted.length === 0) return undefined;
    const evicted = statements.evicted;
    statements.evicted = [];
    this.#unreleased -= evicted.length;
    return evicted;
  }

  #due(sql: string): boolean {
    if (this.#refusedUntil !== 0 && Date.now() < this.#refusedUntil) return false;
    if (this.prepareThreshold <= 1) return true;
    const count = (this.#seen.get(sql) ?? 0) + 1;
    if (count >= this.prepareThreshold) {
      // Kept at the threshold: the other sessions of the pool prepare it on their next run.
      this.#seen.set(sql, this.prepareThreshold);
      return true;
    }
    this.#seen.set(sql, count);
    return false;
  }

  /**
   * Forgets a statement the session no longer has (the server refused it, or its plan
   * went stale). After a refusal, new statements run unprepared for a while.
   */
  forget(session: DriverConnection, statement: PreparedStatement, refused: boolean): void {
    const statements = this.#sessions.get(session);
    if (statements?.byText.peek(statement.sql) === statement) statements.byText.delete(statement.sql);
    if (refused) {
      this.#refused++;
      this.#refusedUntil = Date.now() + REFUSAL_BACKOFF_MS;
    }
  }

  /** The session is gone (closed or discarded): its statements went with it. */
  dropSession(session: DriverConnection): void {
    this.#unreleased -= this.#sessions.get(session)?.evicted.length ?? 0;
    this.#sessions.delete(session);
  }

  /** Every session is gone (the pool closed). */
  clear(): void {
    this.#sessions.clear();
    this.#seen.clear();
    this.#unreleased = 0;
  }

  stats(): StatementCacheStats {
    let prepared = 0;
    let largestSession = 0;
    for (const statements of this.#sessions.values()) {
      prepared += statements.byText.size;
      largestSession = Math.max(largestSession, statements.byText.size);
    }
    const runs = this.#hits + this.#misses;
    return {
      size: this.size,
      prepareThreshold: this.prepareThreshold,
      sessions: this.#sessions.size,
      prepared,
      largestSession,
      hits: this.#hits,
      misses: this.#misses,
      hitRate: runs === 0 ? 0 : this.#hits / runs,
      prepares: this.#prepares,
      evictions: this.#evictions,
      refused: this.#refused,
      replans: this.#replans,
    };
  }
}
