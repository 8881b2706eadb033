import createKnex, { type Knex } from 'knex';
import pg from 'pg';
import type { ConnectionSettings } from '../config.js';
import { postgresTwoPhase } from './postgres-two-phase.js';
import { driverErrorCode, knexLogger, knexPoolLender, utcDateString, type DialectAdapter, type DriverConnection, type ExecOptions, type ExecResult } from './dialect.js';

const OID_DATE = 1082;
const OID_TIMESTAMP = 1114;

/**
 * Per-client type parsers (the global `pg.types` registry is left alone for the
 * application's other pg users): DATE and TIMESTAMP WITHOUT TIME ZONE are read as UTC
 * instead of the process's local time zone, which is how polyrecord writes them.
 */
const parseUtcTimestamp = (value: string) => new Date(`${value.replace(' ', 'T')}Z`);
const parseUtcDate = (value: string) => new Date(`${value}T00:00:00Z`);
const typeParsers = {
  getTypeParser(oid: number, format?: string) {
    if (oid === OID_DATE) return parseUtcDate;
    if (oid === OID_TIMESTAMP) return parseUtcTimestamp;
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

// One name per distinct SQL text, for pg's per-connection named (server-side prepared) statements.
const statementNames = new Map<string, string>();

function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `polyrecord_${statementNames.size.toString(36)}`;
    statementNames.set(sql, name);
  }
  return name;
}

function toResult(result: pg.QueryResult | pg.QueryResult[]): ExecResult {
  // A multi-statement raw query answers with one result per statement: report the last.
  const last = Array.isArray(result) ? result[result.length - 1]! : result;
  return { rows: last.rows ?? [], affected: last.rowCount ?? 0 };
}

function isStalePlan(error: unknown): boolean {
  return driverErrorCode(error) === '0A000' && /cached plan/.test(String((error as Error).message));
}

/** PostgreSQL through pg, pooled by knex. Compiled statements are server-side prepared per connection. */
export const postgresDialect: DialectAdapter = {
  driver: 'postgresql',
  maxBindings: 65_535,
  rowsPerInsert: (columns) => Math.min(5_000, Math.floor(65_535 / Math.max(1, columns))),
  datesAreText: false,
  defaultPool: { min: 0, max: 10 },
  insertReturning: true,
  supportsSkipLocked: true,
  twoPhase: postgresTwoPhase,
  supportsUpdateReturning: true,
  analyzeStatement: (table) => `ANALYZE ${table}`,
  beginStatement: 'BEGIN',
  pingStatement: 'select 1',
  codec: {
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
      connection: () => ({
        host: settings.host ?? '127.0.0.1',
        port: settings.port ?? 5432,
        user: settings.username,
        password: settings.password,
        database: settings.database,
        application_name: 'polyrecord',
        connectionTimeoutMillis: settings.connectTimeoutMs,
        statement_timeout: settings.queryTimeoutMs ?? false,
        types: typeParsers,
      }),
      pool: { min: settings.pool.min, max: settings.pool.max },
      acquireConnectionTimeout: settings.connectTimeoutMs + 5_000,
      log: knexLogger(settings),
    } as Knex.Config);
    return { knex, lender: knexPoolLender(knex), close: () => knex.destroy() };
  },

  async execute(connection: DriverConnection, sql: string, bindings: readonly unknown[], options: ExecOptions): Promise<ExecResult> {
    const client = connection as pg.PoolClient;
    const values = bindings as unknown[];
    if (!options.prepared) return toResult(await client.query({ text: sql, values }));
    try {
      return toResult(await client.query({ name: statementName(sql), text: sql, values }));
    } catch (error) {
      // A table altered under a prepared statement: run this once unprepared rather than fail.
      if (isStalePlan(error)) return toResult(await client.query({ text: sql, values }));
      throw error;
    }
  },

  isTimeout: (error) => driverErrorCode(error) === '57014',

  async discard(connection) {
    // knex marks a client that ended as disposed, and its pool destroys it instead of lending it again.
    await (connection as pg.PoolClient & { end(): Promise<void> }).end().catch(() => undefined);
  },
};
