import createKnex, { type Knex } from 'knex';
import mysql from 'mysql2/promise';
import { mysqlReplication } from './replication.js';
import type { ConnectionSettings } from '../../config.js';
import { mysqlXa } from './xa.js';
import { mysqlSchema } from './schema.js';
import { classifyMysqlError } from './errors.js';
import { WAIT_CLAUSE, driverErrorCode, knexLogger, knexPoolLender, onKnexSessionClosed, utcDateString, type DialectAdapter, type DriverConnection, type ExecOptions, type ExecResult, type PreparedStatement } from '../dialect.js';

type Callback = (error: Error | null, result?: unknown) => void;
interface MysqlConnection {
  destroy(): void;
  unprepare(sql: string): unknown;
  query(options: string | { sql: string; rowsAsArray?: boolean }, values: unknown[], callback: Callback): void;
  execute(options: string | { sql: string; rowsAsArray?: boolean }, values: unknown[], callback: Callback): void;
}
interface ResultHeader {
  affectedRows: number;
  insertId: number | string;
}

function run(connection: MysqlConnection, method: 'query' | 'execute', sql: string, values: unknown[], arrays = false): Promise<unknown> {
  return new Promise((resolve, reject) => {
    connection[method](arrays ? { sql, rowsAsArray: true } : sql, values, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

function toResult(result: unknown): ExecResult {
  if (Array.isArray(result)) {
    // A multi-statement answer is an array of results; rows are arrays of plain objects.
    if (result.length > 0 && (Array.isArray(result[0]) || isHeader(result[0]))) return toResult(result[result.length - 1]);
    return { rows: result as Record<string, unknown>[], affected: 0 };
  }
  const header = result as ResultHeader;
  return { rows: [], affected: header.affectedRows, insertId: header.insertId || undefined };
}

function arrayRows(result: unknown): ExecResult {
  return Array.isArray(result) ? { rows: result as Record<string, unknown>[], affected: 0 } : toResult(result);
}

function isHeader(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'affectedRows' in value;
}

/**
 * Statement timeouts are a session setting: MariaDB's `max_statement_time` (seconds,
 * any statement) or MySQL's `max_execution_time` (milliseconds, SELECT only).
 */
function applyQueryTimeout(timeoutMs: number | undefined) {
  return (connection: MysqlConnection, done: (error: Error | null, connection: unknown) => void) => {
    if (timeoutMs === undefined) return done(null, connection);
    connection.query('SELECT VERSION() AS version', [], (error, rows) => {
      if (error) return done(error, connection);
      const version = String((rows as Array<{ version: string }>)[0]?.version ?? '');
      const statement = /mariadb/i.test(version)
        ? `SET SESSION max_statement_time = ${(timeoutMs / 1000).toFixed(3)}`
        : `SET SESSION max_execution_time = ${Math.round(timeoutMs)}`;
      connection.query(statement, [], (setError) => done(setError, connection));
    });
  };
}

/** Where and as whom a session logs in. */
function sessionConfig(settings: ConnectionSettings) {
  return {
    host: settings.host ?? '127.0.0.1',
    port: settings.port ?? 3306,
    user: settings.username,
    password: settings.password,
    database: settings.database,
    connectTimeout: settings.connectTimeoutMs,
  };
}

/**
 * Cancels the statement `connection` runs with `KILL QUERY <its connection id>` on a
 * session of its own. The session stays open; MySQL and MariaDB clear a kill that found
 * it idle before its next statement.
 */
async function killQuery(settings: ConnectionSettings, connection: DriverConnection): Promise<void> {
  const threadId = (connection as { threadId?: number | null }).threadId;
  if (typeof threadId !== 'number') return;
  const killer = await mysql.createConnection(sessionConfig(settings));
  killer.on('error', () => undefined);
  try {
    await killer.query(`KILL QUERY ${Math.trunc(threadId)}`);
  } finally {
    killer.destroy();
  }
}

// A destroyed mysql2 connection fails knex's pool validation, so the pool drops it.
async function destroySession(connection: DriverConnection): Promise<void> {
  (connection as MysqlConnection).destroy();
}

/** MySQL and MariaDB through mysql2, pooled by knex. Compiled statements use the binary protocol with mysql2's statement cache. */
export const mysqlDialect: DialectAdapter = {
  driver: 'mysql',
  aliases: ['mariadb'],
  displayName: 'MySQL/MariaDB',
  fileUrls: false,
  maxBindings: 65_535,
  // mysql2 writes an array bound to one `?` as an escaped literal list (text protocol). A JSON_TABLE
  // subquery would keep the statement preparable, but MariaDB runs it once per row in UPDATE and
  // DELETE (500,000 values against 2,000 rows: 112 s, against 1 s for the literal list).
  boundList: {
    unprepared: true,
    condition: (not) => `?? ${not ? 'NOT IN' : 'IN'} (?)`,
    // 64-bit integers are encoded as strings; a string compared to an integer column would compare as a double.
    bind: (values, type) => (type === 'integer' ? values.map((value) => (typeof value === 'string' ? BigInt(value) : value)) : values),
  },
  // LIKE compares with the column's collation (case-insensitive by default): the binary collation of the connection's charset compares exactly.
  like: {
    condition: (insensitive) => (insensitive ? 'LOWER(??) LIKE LOWER(?)' : '?? LIKE ? COLLATE utf8mb4_bin'),
    pattern: (pattern) => pattern,
  },
  // MariaDB has no FOR SHARE; LOCK IN SHARE MODE is understood by MySQL too.
  lockClause: (lock) => `${lock.mode === 'update' ? ' for update' : ' lock in share mode'}${WAIT_CLAUSE[lock.wait]}`,
  rowsPerInsert: (columns) => Math.min(5_000, Math.floor(65_535 / Math.max(1, columns))),
  // `YYYY-MM-DD HH:MM:SS[.ffffff]` with the column's digits; a string compared with a DATETIME is read as one.
  exactDateText: 'CAST(?? AS CHAR)',
  defaultPool: { min: 0, max: 10 },
  singleSession: false,
  insertReturning: false,
  transactionalDdl: false,
  twoPhase: mysqlXa,
  replication: mysqlReplication,
  schema: mysqlSchema,
  statementCancel: { cancelRunning: killQuery },
  upsertInsertedFlag: undefined,
  supportsUpdateReturning: false,
  updatePickedReturning: () => undefined,
  columnDigitsSql:
    "select COLUMN_NAME as name, DATA_TYPE as type, case when DATA_TYPE in ('datetime', 'timestamp') then DATETIME_PRECISION end as digits from information_schema.COLUMNS where TABLE_SCHEMA = coalesce(?, database()) and TABLE_NAME = ?",
  keyGeneratorCatchUp: () => undefined,
  analyzeStatement: (table) => `ANALYZE TABLE ${table}`,
  tableExistsSql: 'select 1 from information_schema.tables where table_schema = database() and table_name = ?',
  beginStatement: 'START TRANSACTION',
  pingStatement: 'select 1',
  codec: {
    // MariaDB's JSON_VALID (the CHECK constraint of its JSON columns) refuses 32 nested arrays or objects.
    maxJsonDepth: 31,
    boolean: (value) => (value ? 1 : 0),
    // DATETIME has no zone: store the UTC wall time; mysql2 (timezone 'Z') reads it back as UTC Dates.
    datetime: (value) => value.toISOString().replace('T', ' ').replace('Z', ''),
    date: utcDateString,
    json: (value) => JSON.stringify(value),
    bigint: (value) => value.toString(),
  },

  open(settings: ConnectionSettings) {
    const knex = createKnex({
      client: 'mysql2',
      connection: () => ({
        ...sessionConfig(settings),
        charset: 'utf8mb4',
        timezone: 'Z',
        supportBigNumbers: true,
        // JSON comes back as its text and polyrecord parses it once: a driver that parses too would decode a JSON string twice.
        jsonStrings: true,
        // BIGINT within ±2^53 arrives as a number (no Long arithmetic per value), beyond it as exact digits; the column codecs type both.
        bigNumberStrings: false,
        // mysql2's own statement cache holds what polyrecord's holds, never more (its default, 16 000, nears MariaDB's server-wide limit).
        maxPreparedStatements: Math.max(1, settings.statementCacheSize),
      }),
      pool: { min: settings.pool.min, max: settings.pool.max, afterCreate: applyQueryTimeout(settings.queryTimeoutMs) },
      acquireConnectionTimeout: settings.connectTimeoutMs + 5_000,
      log: knexLogger(settings),
    } as Knex.Config);
    return { knex, lender: knexPoolLender(knex, { cancel: (connection) => killQuery(settings, connection), discard: destroySession }), onSessionClosed: (listener) => onKnexSessionClosed(knex, listener), close: () => knex.destroy() };
  },

  // Not async: one promise hop less per statement (Connection turns a synchronous throw into a rejection).
  execute(connection: DriverConnection, sql: string, bindings: readonly unknown[], statement: PreparedStatement | undefined, options: ExecOptions): Promise<ExecResult> {
    // mysql2's execute() prepares on first use and reuses its cached statement after; query() sends the text.
    const pending = run(connection as MysqlConnection, statement ? 'execute' : 'query', sql, bindings as unknown[], options.arrays === true);
    // Rows as arrays look like a multi-statement answer to toResult: a model's statement is one statement.
    return options.arrays ? pending.then(arrayRows) : pending.then(toResult);
  },

  unprepare(connection, statement) {
    // Drops it from mysql2's cache and sends COM_STMT_CLOSE (no reply, accepted in any session state).
    (connection as MysqlConnection).unprepare(statement.sql);
  },

  // ER_MAX_PREPARED_STMT_COUNT_REACHED: max_prepared_stmt_count is server-wide, shared with every other client.
  isPrepareRefused: (error) => (error as { errno?: number } | undefined)?.errno === 1461,

  // MySQL and MariaDB re-prepare a statement whose table changed by themselves.
  isStalePlan: () => false,
  plansGoStale: false,

  discard: destroySession,

  integerOperand: 'CAST(? AS SIGNED)',

  classifyError: classifyMysqlError,
};
