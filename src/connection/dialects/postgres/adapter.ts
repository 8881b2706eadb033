import createKnex, { type Knex } from 'knex';
import pg from 'pg';
import { postgresReplication } from './replication.js';
import type { ConnectionSettings } from '../../config.js';
import { postgresTwoPhase } from './two-phase.js';
import { parseTimestamptz, parseUtcTimestamp } from './dates.js';
import { closePreparedStatement } from './statements.js';
import { postgresSchema } from './schema.js';
import { classifyPostgresError } from './errors.js';
import { WAIT_CLAUSE, driverErrorCode, knexLogger, knexPoolLender, onKnexSessionClosed, utcDateString, type DialectAdapter, type DriverConnection, type ExecOptions, type ExecResult, type PreparedStatement } from '../dialect.js';

const OID_DATE = 1082;
const OID_TIMESTAMP = 1114;
const OID_TIMESTAMPTZ = 1184;
const OID_JSON = 114;
const OID_JSONB = 3802;

/**
 * Per-client type parsers (the global `pg.types` registry is left alone for the
 * application's other pg users): DATE and TIMESTAMP WITHOUT TIME ZONE are read as UTC
 * instead of the process's local time zone, which is how polyrecord writes them; TIMESTAMPTZ
 * is read as pg reads it, without its regular expression (see readTimestamp); JSON
 * and JSONB stay text.
 */
const parseUtcDate = (value: string) => new Date(`${value}T00:00:00Z`);
const keepText = (value: string) => value;
const typeParsers = {
  getTypeParser(oid: number, format?: string) {
    if (oid === OID_DATE) return parseUtcDate;
    if (oid === OID_TIMESTAMP) return parseUtcTimestamp;
    if (oid === OID_TIMESTAMPTZ) return parseTimestamptz;
    // JSON comes back as its text and polyrecord parses it once (pg would parse it, and a JSON string would be decoded twice).
    if (oid === OID_JSON || oid === OID_JSONB) return keepText;
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

function toResult(result: pg.QueryResult | pg.QueryResult[]): ExecResult {
  // A multi-statement raw query answers with one result per statement: report the last.
  const last = Array.isArray(result) ? result[result.length - 1]! : result;
  return { rows: last.rows ?? [], affected: last.rowCount ?? 0 };
}

/**
 * Runs a query through pg's callback form. pg's promise form (`client.query(config)` without
 * a callback) answers the same rows, but a process reading many rows through it pays about
 * ten times as much to the garbage collector: measured without polyrecord, 40 reads of
 * 10,000 rows (after 10 unmeasured ones) took 132 ms of collector pauses with the promise
 * form and 12 ms with the callback form, and over all 50 the scavenger promoted 42 MB
 * instead of 6 MB (docs/performance.md, "pg's promise form"). knex calls pg this way too.
 */
function answerOf(client: pg.PoolClient, query: pg.QueryConfig): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.query(query, (error: Error | null, result: pg.QueryResult) => (error ? reject(error) : resolve(toResult(result))));
  });
}

function clientConfig(settings: ConnectionSettings): pg.ClientConfig {
  return {
    host: settings.host ?? '127.0.0.1',
    port: settings.port ?? 5432,
    user: settings.username,
    password: settings.password,
    database: settings.database,
    application_name: 'polyrecord',
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.queryTimeoutMs ?? false,
    types: typeParsers,
  };
}

/**
 * Cancels the statement `connection` runs with `pg_cancel_backend` on a session of its
 * own (the backend's pid is all it needs; an idle backend ignores the signal).
 */
async function cancelBackend(settings: ConnectionSettings, connection: DriverConnection): Promise<void> {
  const pid = (connection as pg.Client & { processID: number | null }).processID;
  if (pid === null) return;
  const client = new pg.Client(clientConfig(settings));
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('select pg_cancel_backend($1)', [pid]);
  } finally {
    // The answer is all the caller waits for; the session closes in the background.
    void client.end().catch(() => undefined);
  }
}

// knex marks a client that ended as disposed, and its pool destroys it instead of lending it again.
async function endClient(connection: DriverConnection): Promise<void> {
  await (connection as pg.PoolClient & { end(): Promise<void> }).end().catch(() => undefined);
}

/** PostgreSQL through pg, pooled by knex. Repeating statements are server-side prepared per session, in a bounded cache. */
export const postgresDialect: DialectAdapter = {
  driver: 'postgresql',
  aliases: ['postgres'],
  displayName: 'PostgreSQL',
  fileUrls: false,
  maxBindings: 65_535,
  // One array parameter; PostgreSQL infers its element type from the column.
  boundList: {
    unprepared: false,
    condition: (not) => (not ? '?? <> ALL(?)' : '?? = ANY(?)'),
    bind: (values) => values,
  },
  like: {
    condition: (insensitive) => (insensitive ? '?? ILIKE ?' : '?? LIKE ?'),
    pattern: (pattern) => pattern,
  },
  lockClause: (lock) => ` for ${lock.mode}${WAIT_CLAUSE[lock.wait]}`,
  rowsPerInsert: (columns) => Math.min(5_000, Math.floor(65_535 / Math.max(1, columns))),
  // The output form (DateStyle, TimeZone; an offset for timestamptz) is the session's, which reads it back.
  exactDateText: '??::text',
  defaultPool: { min: 0, max: 10 },
  singleSession: false,
  insertReturning: true,
  transactionalDdl: true,
  twoPhase: postgresTwoPhase,
  replication: postgresReplication,
  schema: postgresSchema,
  statementCancel: { cancelRunning: cancelBackend },
  upsertInsertedFlag: '(xmax = 0)',
  supportsUpdateReturning: true,
  // `= any(array(...))` makes the UPDATE fetch the picked rows by primary key instead of scanning the table.
  updatePickedReturning: (table, set, pick, columns) => `update ${table} set ${set} where id = any(array(${pick})) returning ${columns}`,
  columnDigitsSql:
    "select column_name as name, data_type as type, case when data_type like 'timestamp%' then datetime_precision end as digits from information_schema.columns where table_schema = coalesce($1, current_schema()) and table_name = $2",
  // setval(…, max, true): the next value is max + 1; an empty table restarts the sequence at 1. A column without a sequence matches no row.
  keyGeneratorCatchUp: (table, column) => {
    const name = table.split('.').map(quoteIdentifier).join('.');
    return {
      sql: `select setval(seq, coalesce(top, 1), top is not null) from (select pg_get_serial_sequence($1, $2) as seq, (select max(${quoteIdentifier(column)}) from ${name}) as top) as s where seq is not null`,
      bindings: [name, column],
    };
  },
  analyzeStatement: (table) => `ANALYZE ${table}`,
  tableExistsSql: 'select 1 from information_schema.tables where table_schema = current_schema() and table_name = $1',
  beginStatement: 'BEGIN',
  pingStatement: 'select 1',
  codec: {
    // PostgreSQL's own parser recurses per level; this stays well inside its stack limit.
    maxJsonDepth: 1_000,
    boolean: (value) => value,
    // For TIMESTAMP WITHOUT TIME ZONE PostgreSQL drops the zone and keeps the UTC wall time, which is what we read back.
    datetime: (value) => value.toISOString(),
    date: utcDateString,
    json: (value) => JSON.stringify(value),
    bigint: (value) => value.toString(),
  },

  open(settings: ConnectionSettings) {
    const knex = createKnex({
      client: 'pg',
      connection: () => clientConfig(settings),
      pool: { min: settings.pool.min, max: settings.pool.max },
      acquireConnectionTimeout: settings.connectTimeoutMs + 5_000,
      log: knexLogger(settings),
    } as Knex.Config);
    return { knex, lender: knexPoolLender(knex, { cancel: (connection) => cancelBackend(settings, connection), discard: endClient }), onSessionClosed: (listener) => onKnexSessionClosed(knex, listener), close: () => knex.destroy() };
  },

  // Not async: one promise hop less per statement (Connection turns a synchronous throw into a rejection).
  execute(connection: DriverConnection, sql: string, bindings: readonly unknown[], statement: PreparedStatement | undefined, options: ExecOptions): Promise<ExecResult> {
    const query: pg.QueryConfig & { rowMode?: 'array' } = statement === undefined ? { text: sql, values: bindings as unknown[] } : { name: statement.name, text: sql, values: bindings as unknown[] };
    if (options.arrays) query.rowMode = 'array';
    return answerOf(connection as pg.PoolClient, query);
  },

  unprepare: closePreparedStatement,

  // 53200 out_of_memory, 54000 program_limit_exceeded: the backend could not keep another plan.
  isPrepareRefused: (error) => {
    const code = driverErrorCode(error);
    return code === '53200' || code === '54000';
  },

  isStalePlan: (error) => driverErrorCode(error) === '0A000' && /cached plan/.test(String((error as Error).message)),

  // Generic plans are costed once, against the table sizes of that moment: see StatementCache.
  plansGoStale: true,

  integerOperand: '?',

  classifyError: classifyPostgresError,

  discard: endClient,
};

/** A PostgreSQL identifier in double quotes (its case kept, a quote doubled). */
function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
