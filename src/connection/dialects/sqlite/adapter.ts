import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import createKnex, { type Knex } from 'knex';
import type { ConnectionSettings } from '../../config.js';
import { ConfigError, PolyrecordError, TransactionError } from '../../../errors.js';
import { CancelScope } from '../statement-cancel.js';
import { sqliteSchema } from './schema.js';
import { classifySqliteError } from './errors.js';
import { knexLogger, utcDateString, type ConnectionLender, type DialectAdapter, type DriverConnection, type ExecResult, type PoolStats, type PreparedStatement } from '../dialect.js';

type Statement = Database.Statement<unknown[], Record<string, unknown>>;

/**
 * SQLite's one connection, gated. SQLite in one process gains nothing from several
 * connections (writes serialize anyway, and `:memory:` databases are per connection),
 * so the connection is lent to one user at a time: synchronously when free, else in
 * FIFO order. knex is handed this gate as its `connectionPool`, so builder queries
 * and polyrecord's compiled statements share one queue.
 */
/** The gates held by the async scope (a transaction's callback) that acquired them, innermost first. */
interface Holding {
  readonly gate: SqliteConnectionGate;
  held: boolean;
  readonly outer: Holding | undefined;
}
const holdings = new AsyncLocalStorage<Holding>();

export class SqliteConnectionGate implements ConnectionLender {
  #db: Database.Database | undefined;
  #busy = false;
  #waiting: Array<(db: Database.Database) => void> = [];
  #closed = false;
  readonly #open: () => Database.Database;

  constructor(open: () => Database.Database) {
    this.#open = open;
  }

  tryAcquire(): DriverConnection | undefined {
    if (this.#busy || this.#closed) return undefined;
    // Opening may throw (a missing directory, a file that is no database): the gate must stay free then.
    const db = (this.#db ??= this.#open());
    this.#busy = true;
    return db;
  }

  acquire(): Promise<DriverConnection> {
    if (this.#closed) return Promise.reject(new PolyrecordError('E_CONNECTION_CLOSED', 'the SQLite connection is closed'));
    let db: DriverConnection | undefined;
    try {
      db = this.tryAcquire();
    } catch (error) {
      return Promise.reject(error);
    }
    if (db) return Promise.resolve(db);
    // Waiting for a session this very scope holds would wait forever (knex used inside a transaction's callback).
    if (this.#heldHere()) {
      return Promise.reject(new TransactionError('this SQLite connection is held by the transaction running in this scope, so a second session would wait for it forever: run the query through the transaction (trx.table(), trx.query()) or the models, which join it'));
    }
    // Work cancelled while it waited (a scatter entry that timed out) never starts: the session passes on.
    const scope = CancelScope.current();
    return new Promise((resolve, reject) =>
      this.#waiting.push((db) => {
        if (!scope?.cancelled) return resolve(db);
        this.release();
        reject(scope.refusal());
      }),
    );
  }

  /** Runs `fn` as the holder of this gate's session: an acquire from inside it fails fast instead of waiting for itself. */
  async whileHeld<T>(fn: () => Promise<T>): Promise<T> {
    const holding: Holding = { gate: this, held: true, outer: holdings.getStore() };
    try {
      return await holdings.run(holding, fn);
    } finally {
      // Work the callback left running (not awaited) may acquire later, once the session is free again.
      holding.held = false;
    }
  }

  #heldHere(): boolean {
    for (let h = holdings.getStore(); h; h = h.outer) if (h.gate === this && h.held) return true;
    return false;
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next(this.#db!);
    else this.#busy = false;
  }

  stats(): PoolStats {
    return { used: this.#busy ? 1 : 0, free: this.#busy || this.#db === undefined ? 0 : 1, pending: this.#waiting.length };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#db?.close();
    this.#db = undefined;
  }

  // The tarn-shaped surface knex's `connectionPool` option expects.
  toKnexPool(): object {
    return {
      acquire: () => ({ promise: this.acquire() }),
      release: (connection: DriverConnection) => {
        this.release();
        return connection !== undefined;
      },
      destroy: () => Promise.resolve(),
      numFree: () => (this.#busy ? 0 : 1),
      numUsed: () => (this.#busy ? 1 : 0),
      numPendingAcquires: () => this.#waiting.length,
    };
  }
}

/** A LIKE pattern (`%`, `_`, a backslash escaping the next character) as the GLOB pattern matching the same strings, case-sensitively. */
export function likeToGlob(pattern: string): string {
  let glob = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) glob += globLiteral(pattern[++i]!);
    else if (c === '%') glob += '*';
    else if (c === '_') glob += '?';
    else glob += globLiteral(c);
  }
  return glob;
}

function globLiteral(c: string): string {
  return c === '*' || c === '?' || c === '[' ? `[${c}]` : c;
}

/** A statement this session keeps prepared, with the integer mode it was last set to (setting it costs a call). */
interface SqliteHandle {
  readonly statement: Statement;
  safeIntegers: boolean;
  arrays: boolean;
}

function statementFor(db: Database.Database, sql: string, prepared: PreparedStatement | undefined, safeIntegers: boolean, arrays: boolean): Statement {
  if (prepared === undefined) {
    const statement = db.prepare(sql) as Statement;
    if (statement.reader) statement.safeIntegers(safeIntegers).raw(arrays);
    return statement;
  }
  let handle = prepared.handle as SqliteHandle | undefined;
  if (handle === undefined) {
    const statement = db.prepare(sql) as Statement;
    if (statement.reader) statement.safeIntegers(safeIntegers).raw(arrays);
    prepared.handle = handle = { statement, safeIntegers, arrays };
  } else if ((handle.safeIntegers !== safeIntegers || handle.arrays !== arrays) && handle.statement.reader) {
    // One text may be read both ways (a model query, and the same text as raw SQL).
    handle.statement.safeIntegers(safeIntegers).raw(arrays);
    handle.safeIntegers = safeIntegers;
    handle.arrays = arrays;
  }
  return handle.statement;
}

/**
 * A JSON array text of encoded values. Written by hand because `JSON.stringify` refuses
 * bigints; they are written as plain digits, which every database reads as a 64-bit integer.
 */
function jsonArrayText(values: readonly unknown[]): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) out += ',';
    out += typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
  }
  return `${out}]`;
}

/** SQLite through better-sqlite3: synchronous, in-process, one gated connection. */
export const sqliteDialect: DialectAdapter = {
  driver: 'sqlite',
  aliases: ['sqlite3'],
  displayName: 'SQLite',
  fileUrls: true,
  // SQLITE_MAX_VARIABLE_NUMBER defaults to 32766 since SQLite 3.32.
  maxBindings: 32_766,
  // json_each's values carry JSON's types; column affinity converts them as it would a literal.
  boundList: {
    unprepared: false,
    condition: (not) => `?? ${not ? 'NOT IN' : 'IN'} (SELECT value FROM json_each(?))`,
    bind: jsonArrayText,
  },
  // LIKE folds ASCII case (PRAGMA case_sensitive_like would change it for the whole connection): a case-sensitive match is a GLOB.
  like: {
    condition: (insensitive) => (insensitive ? "?? LIKE ? ESCAPE '\\'" : '?? GLOB ?'),
    pattern: (pattern, insensitive) => (insensitive ? pattern : likeToGlob(pattern)),
  },
  // One writer at a time: a transaction (BEGIN IMMEDIATE) already holds the database.
  lockClause: () => '',
  rowsPerInsert: () => 1,
  // Dates are text, compared as text: the stored value itself.
  exactDateText: '??',
  defaultPool: { min: 1, max: 1 },
  singleSession: true,
  insertReturning: true,
  // IMMEDIATE takes the write lock up front, so two processes cannot deadlock upgrading read locks.
  transactionalDdl: true,
  twoPhase: undefined,
  replication: undefined,
  schema: sqliteSchema,
  // Statements run synchronously in this process: nothing can interrupt one from outside.
  statementCancel: undefined,
  upsertInsertedFlag: undefined,
  supportsUpdateReturning: true,
  // Rows cannot be locked, so a claim runs in one transaction, whose BEGIN IMMEDIATE takes the write lock first.
  updatePickedReturning: () => undefined,
  columnDigitsSql: undefined,
  keyGeneratorCatchUp: () => undefined,
  analyzeStatement: (table) => `ANALYZE ${table}`,
  tableExistsSql: "select 1 from sqlite_master where type = 'table' and name = ?",
  beginStatement: 'BEGIN IMMEDIATE',
  pingStatement: 'select 1',
  codec: {
    // SQLite's JSON functions stop at 1,000 levels (JSON_MAX_DEPTH).
    maxJsonDepth: 1_000,
    boolean: (value) => (value ? 1 : 0),
    datetime: (value) => value.toISOString(),
    date: utcDateString,
    json: (value) => JSON.stringify(value),
    bigint: (value) => value,
  },

  open(settings: ConnectionSettings) {
    const gate = new SqliteConnectionGate(() => {
      if (settings.database !== ':memory:' && settings.database !== '' && !existsSync(dirname(resolve(settings.database)))) {
        throw new ConfigError('database', `cannot open ${JSON.stringify(settings.database)}: its directory does not exist (create it first)`, settings.name);
      }
      const db = new Database(settings.database, { timeout: settings.queryTimeoutMs ?? 5_000 });
      // WAL lets readers in other processes proceed while this one writes.
      if (settings.database !== ':memory:') db.pragma('journal_mode = WAL');
      // Every commit durable before it returns, whatever the file's history: better-sqlite3 builds SQLite so that
      // a connection opening a file already in WAL mode syncs NORMAL (a power loss may undo the last commits),
      // while the one that switched it keeps FULL. A decision a cross-database transaction wrote here must survive.
      db.pragma('synchronous = FULL');
      // Enforce the foreign keys a schema declares, as PostgreSQL and MariaDB do (SQLite leaves them unchecked per connection by default).
      db.pragma('foreign_keys = ON');
      return db;
    });
    const knex = createKnex({ client: 'better-sqlite3', useNullAsDefault: true, connectionPool: gate.toKnexPool(), log: knexLogger(settings) } as Knex.Config);
    return {
      knex,
      lender: gate,
      // The single connection closes only with the whole gate.
      onSessionClosed: () => undefined,
      close: async () => {
        await knex.destroy();
        await gate.close();
      },
    };
  },

  execute(connection, sql, bindings, prepared, options): ExecResult {
    const statement = statementFor(connection as Database.Database, sql, prepared, options.safeIntegers === true, options.arrays === true);
    if (statement.reader) {
      if (options.firstRow) {
        const row = statement.get(...(bindings as unknown[])) as Record<string, unknown> | undefined;
        return { rows: row === undefined ? [] : [row], affected: 0 };
      }
      return { rows: statement.all(...(bindings as unknown[])) as Record<string, unknown>[], affected: 0 };
    }
    const info = statement.run(...(bindings as unknown[]));
    return { rows: [], affected: info.changes, insertId: info.lastInsertRowid };
  },

  // better-sqlite3 finalizes a statement once nothing references it.
  unprepare(_connection, statement) {
    statement.handle = undefined;
  },

  // SQLite prepares in process memory and re-prepares a statement whose schema changed by itself.
  isPrepareRefused: () => false,
  isStalePlan: () => false,
  plansGoStale: false,

  integerOperand: '?',

  classifyError: classifySqliteError,

  // The one SQLite connection is never thrown away: a transaction on it ends with ROLLBACK instead.
  discard: async () => undefined,
};
