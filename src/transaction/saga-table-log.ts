import { ensureBookkeepingTable, plainTableName } from '../connection/bookkeeping-table.js';
import type { Connection } from '../connection/connection.js';
import { ConnectionManager } from '../connection/manager.js';
import { ConfigError, PolyrecordError } from '../errors.js';
import { decoders } from '../connection/column-codecs.js';
import type { SagaLog, SagaRunFilter, SagaRunRecord, SagaRunStatus, SagaRunUpdate } from './saga-log.js';
import type { SagaOwner } from './saga-owner.js';

/** The default table of {@link TableSagaLog}. */
export const SAGA_LOG_TABLE = 'polyrecord_saga_log';

const UNFINISHED: readonly SagaRunStatus[] = ['running', 'compensating', 'failed'];
const MAX_ERROR_TEXT = 8_000;

/**
 * Creates the saga log table on a connection if it does not exist (idempotent, safe to
 * race from several processes). {@link TableSagaLog} calls it on first use; call it
 * yourself to create the table ahead of time (outside any transaction: MySQL commits an
 * open transaction on DDL).
 *
 * Columns: `run_id` (primary key), `saga_name`, `status`
 * (running/compensating/completed/compensated/failed), `input` and `results` (JSON
 * text), `current_step`, `error`, `owner_host` and `owner_pid` (the process working on
 * the run), `created_at`, `updated_at`.
 *
 * @example
 * ```ts
 * await ensureSagaLogTable('primary')
 * ```
 */
export async function ensureSagaLogTable(connection: string, manager: ConnectionManager = ConnectionManager.default, table: string = SAGA_LOG_TABLE): Promise<void> {
  await createTable(manager.get(connection), plainTableName(table, 'saga log table'));
}

/**
 * A {@link SagaLog} kept in a table (`polyrecord_saga_log` by default) on a named
 * connection, created on first use. Every write is one autocommitted statement, outside
 * the steps' transactions. Passing a connection name as a saga's `log` option makes one.
 *
 * @example
 * ```ts
 * const log = new TableSagaLog('primary')
 * const saga = new Saga('create-user', { log })
 * const stuck = await log.unfinished('create-user')
 * ```
 */
export class TableSagaLog implements SagaLog {
  /** The connection the table lives on (resolved on each use, so it may be configured later). */
  readonly connectionName: string;
  readonly table: string;
  readonly #manager: ConnectionManager;

  constructor(connection: string, options: { manager?: ConnectionManager; table?: string } = {}) {
    if (typeof connection !== 'string' || connection === '') throw new ConfigError('log', 'a saga log needs the name of a configured connection');
    this.connectionName = connection;
    this.table = plainTableName(options.table ?? SAGA_LOG_TABLE, 'saga log table');
    this.#manager = options.manager ?? ConnectionManager.default;
  }

  async create(record: SagaRunRecord): Promise<void> {
    const connection = await this.#connection();
    const { datetime } = connection.dialect.codec;
    await connection.runBuilder(
      connection.knex(this.table).insert({
        run_id: record.runId,
        saga_name: record.sagaName,
        status: record.status,
        input: JSON.stringify(record.input ?? null),
        results: JSON.stringify(record.results),
        current_step: record.currentStep,
        error: errorText(record.error),
        owner_host: record.owner.host,
        owner_pid: record.owner.pid,
        created_at: datetime(record.createdAt),
        updated_at: datetime(record.updatedAt),
      }),
    );
  }

  async update(runId: string, owner: SagaOwner, update: SagaRunUpdate): Promise<boolean> {
    const connection = await this.#connection();
    const values: Record<string, unknown> = {
      status: update.status,
      results: JSON.stringify(update.results),
      current_step: update.currentStep,
      updated_at: connection.dialect.codec.datetime(new Date()),
    };
    if (update.error !== undefined) values.error = errorText(update.error);
    const builder = connection.knex(this.table).update(values).where({ run_id: runId, owner_host: owner.host, owner_pid: owner.pid });
    return (await connection.runBuilder(builder)).affected === 1;
  }

  async claim(runId: string, expected: { status: SagaRunStatus; owner: SagaOwner }, next: { status: SagaRunStatus; owner: SagaOwner }): Promise<boolean> {
    const connection = await this.#connection();
    const builder = connection
      .knex(this.table)
      .update({ status: next.status, owner_host: next.owner.host, owner_pid: next.owner.pid, updated_at: connection.dialect.codec.datetime(new Date()) })
      .where({ run_id: runId, status: expected.status, owner_host: expected.owner.host, owner_pid: expected.owner.pid });
    return (await connection.runBuilder(builder)).affected === 1;
  }

  async unfinished(sagaName: string): Promise<SagaRunRecord[]> {
    const connection = await this.#connection();
    const builder = connection.knex(this.table).select('*').where('saga_name', sagaName).whereIn('status', UNFINISHED as SagaRunStatus[]).orderBy([{ column: 'created_at' }, { column: 'run_id' }]);
    return (await connection.runBuilder(builder)).rows.map((row) => this.#decode(row));
  }

  async runs(filter: SagaRunFilter = {}): Promise<SagaRunRecord[]> {
    const connection = await this.#connection();
    let builder = connection.knex(this.table).select('*').orderBy([{ column: 'updated_at', order: 'desc' }, { column: 'run_id' }]);
    if (filter.sagaName !== undefined) builder = builder.where('saga_name', filter.sagaName);
    if (filter.status !== undefined) builder = builder.where('status', filter.status);
    if (filter.limit !== undefined) builder = builder.limit(filter.limit);
    return (await connection.runBuilder(builder)).rows.map((row) => this.#decode(row));
  }

  async get(runId: string): Promise<SagaRunRecord | undefined> {
    const connection = await this.#connection();
    const row = (await connection.runBuilder(connection.knex(this.table).select('*').where('run_id', runId))).rows[0];
    return row ? this.#decode(row) : undefined;
  }

  async #connection(): Promise<Connection> {
    const connection = this.#manager.get(this.connectionName);
    await ensureTableOn(connection, this.table);
    return connection;
  }

  #decode(row: Record<string, unknown>): SagaRunRecord {
    const runId = String(row.run_id);
    const parse = (column: string): unknown => {
      try {
        return JSON.parse(String(row[column]));
      } catch (error) {
        throw new PolyrecordError('E_SAGA_LOG', `saga run ${runId} in ${this.table} on "${this.connectionName}": column ${column} is not valid JSON`, { cause: error });
      }
    };
    const results = parse('results');
    return {
      runId,
      sagaName: String(row.saga_name),
      status: String(row.status) as SagaRunStatus,
      input: parse('input'),
      results: results && typeof results === 'object' && !Array.isArray(results) ? (results as Record<string, unknown>) : {},
      currentStep: row.current_step === null || row.current_step === undefined ? null : String(row.current_step),
      error: row.error === null || row.error === undefined ? null : String(row.error),
      owner: { host: String(row.owner_host), pid: Number(row.owner_pid) },
      createdAt: decoders.datetime(row.created_at) as Date,
      updatedAt: decoders.datetime(row.updated_at) as Date,
    };
  }
}

function errorText(error: string | null): string | null {
  return error === null || error.length <= MAX_ERROR_TEXT ? error : `${error.slice(0, MAX_ERROR_TEXT)}…`;
}

// Tables known to exist, per connection object (a reconfigured connection checks again).
const ensured = new WeakMap<Connection, Map<string, Promise<void>>>();

function ensureTableOn(connection: Connection, table: string): Promise<void> {
  let tables = ensured.get(connection);
  if (!tables) ensured.set(connection, (tables = new Map()));
  let pending = tables.get(table);
  if (!pending) {
    pending = createTable(connection, table);
    tables.set(table, pending);
    pending.catch(() => tables.delete(table));
  }
  return pending;
}

function createTable(connection: Connection, table: string): Promise<void> {
  return ensureBookkeepingTable(connection, table, (t) => {
    t.string('run_id', 64).primary();
    t.string('saga_name', 191).notNullable();
    t.string('status', 16).notNullable();
    t.text('input', 'longtext').notNullable();
    t.text('results', 'longtext').notNullable();
    t.string('current_step', 191).nullable();
    t.text('error').nullable();
    t.string('owner_host', 255).notNullable();
    t.integer('owner_pid').notNullable();
    t.datetime('created_at', { precision: 3 }).notNullable();
    t.datetime('updated_at', { precision: 3 }).notNullable();
    t.index(['saga_name', 'status'], `${table.slice(0, 50)}_saga_status`);
  });
}
