import { ConnectionManager } from '../connection/manager.js';
import { decoders } from '../model/column-types.js';
import type { CoordinatorLog, ParticipantRecord, TxRecord, TxState } from './coordinator-log.js';

/** The coordinator log table's name. */
export const TX_LOG_TABLE = 'polyrecord_tx_log';

interface Row {
  id: string;
  state: string;
  participants: string;
  created_at: unknown;
  updated_at: unknown;
}

/**
 * The coordinator log as a `polyrecord_tx_log` table on a named connection. Each
 * decision is one autocommitted INSERT (its own local transaction, on a pooled
 * connection, never a branch's), so it is durable before any branch commits. The
 * primary key makes the first decision for a transaction win.
 *
 * @example
 * ```ts
 * CrossDbTransaction.configure({ log: new TableLog({ connection: 'txlog' }), nodeId: 'orders-api' })
 * ```
 */
export class TableLog implements CoordinatorLog {
  readonly connection: string;
  readonly #manager: ConnectionManager;
  #ready: Promise<void> | undefined;

  constructor(options: { connection: string; manager?: ConnectionManager }) {
    this.connection = options.connection;
    this.#manager = options.manager ?? ConnectionManager.default;
  }

  get description(): string {
    return `table ${TX_LOG_TABLE} on "${this.connection}"`;
  }

  ensure(): Promise<void> {
    this.#ready ??= this.#create().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #create(): Promise<void> {
    const knex = this.#manager.get(this.connection).knex;
    if (await knex.schema.hasTable(TX_LOG_TABLE)) return;
    await knex.schema
      .createTable(TX_LOG_TABLE, (t) => {
        t.string('id', 64).primary();
        t.string('state', 16).notNullable();
        t.text('participants').notNullable();
        t.datetime('created_at', { precision: 3 }).notNullable();
        t.datetime('updated_at', { precision: 3 }).notNullable();
        t.index(['state'], 'polyrecord_tx_log_state');
      })
      .catch(async (error: unknown) => {
        if (!(await knex.schema.hasTable(TX_LOG_TABLE))) throw error;
      });
  }

  async decide(id: string, state: 'committing' | 'aborted', participants: ParticipantRecord[]): Promise<TxRecord> {
    await this.ensure();
    const connection = this.#manager.get(this.connection);
    const at = new Date();
    const now = connection.dialect.codec.datetime(at) as string;
    try {
      await connection.knex(TX_LOG_TABLE).insert({ id, state, participants: JSON.stringify(participants), created_at: now, updated_at: now });
    } catch (error) {
      // A duplicate key means another decision landed first: that one stands.
      const existing = await this.get(id);
      if (existing) return existing;
      throw error;
    }
    return { id, state, participants, createdAt: at, updatedAt: at };
  }

  async complete(id: string): Promise<void> {
    const connection = this.#manager.get(this.connection);
    await connection
      .knex(TX_LOG_TABLE)
      .where({ id, state: 'committing' })
      .update({ state: 'committed', updated_at: connection.dialect.codec.datetime(new Date()) as string });
  }

  async get(id: string): Promise<TxRecord | undefined> {
    await this.ensure();
    const row = (await this.#manager.get(this.connection).knex(TX_LOG_TABLE).where({ id }).first()) as Row | undefined;
    return row && toRecord(row);
  }

  async pending(): Promise<TxRecord[]> {
    await this.ensure();
    const rows = (await this.#manager.get(this.connection).knex(TX_LOG_TABLE).where({ state: 'committing' })) as Row[];
    return rows.map(toRecord);
  }
}

function toRecord(row: Row): TxRecord {
  return {
    id: row.id,
    state: row.state as TxState,
    participants: JSON.parse(row.participants) as ParticipantRecord[],
    createdAt: decoders.datetime(row.created_at) as Date,
    updatedAt: decoders.datetime(row.updated_at) as Date,
  };
}
