import { ensureBookkeepingTable, plainTableName } from '../connection/bookkeeping-table.js';
import { ConnectionManager } from '../connection/manager.js';
import { decoders } from '../connection/column-codecs.js';
import type { Connection } from '../connection/connection.js';
import type { CoordinatorLog, ParticipantRecord, TxRecord, TxState } from './coordinator-log.js';
import { WriteGroup } from './write-group.js';

/** The coordinator log table's default name. */
export const TX_LOG_TABLE = 'polyrecord_tx_log';

/** Most decisions (or done marks) one statement carries. */
const MAX_GROUP = 100;
/**
 * How long done marks gather before each UPDATE. Nobody waits for them (run() has
 * resolved), and a mark lost with its process is redone by recover().
 */
const DONE_MARK_GATHER_MS = 50;

interface Decision {
  id: string;
  state: 'committing' | 'aborted';
  participants: ParticipantRecord[];
  at: Date;
}

interface Row {
  id: string;
  state: string;
  participants: string;
  created_at: unknown;
  updated_at: unknown;
}

/**
 * The coordinator log as a table (`polyrecord_tx_log` unless `table` names another) on a named connection. Each
 * decision is an autocommitted INSERT (its own local transaction, on a pooled
 * connection, never a branch's), so it is durable before any branch commits. The
 * primary key makes the first decision for a transaction win. Decisions made while an
 * earlier one is being written go out together in the next INSERT: group commit, one
 * durable write for many concurrent transactions. Done marks gather for 50 ms and go
 * out in one UPDATE.
 *
 * @example
 * ```ts
 * CrossDbTransaction.configure({ log: new TableLog({ connection: 'txlog' }), nodeId: 'orders-api' })
 * ```
 */
export class TableLog implements CoordinatorLog {
  readonly connection: string;
  readonly table: string;
  readonly #manager: ConnectionManager;
  readonly #decisions = new WriteGroup<Decision, TxRecord>((batch) => this.#insertDecisions(batch), { maxItems: MAX_GROUP });
  readonly #doneMarks = new WriteGroup<string, void>((ids) => this.#markCommitted(ids), { maxItems: MAX_GROUP, gatherMs: DONE_MARK_GATHER_MS });
  #ready: Promise<void> | undefined;

  constructor(options: { connection: string; table?: string; manager?: ConnectionManager }) {
    this.connection = options.connection;
    this.table = plainTableName(options.table ?? TX_LOG_TABLE, 'coordinator log table');
    this.#manager = options.manager ?? ConnectionManager.default;
  }

  get description(): string {
    return `table ${this.table} on "${this.connection}"`;
  }

  ensure(): Promise<void> {
    this.#ready ??= this.#create().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  #create(): Promise<void> {
    return ensureBookkeepingTable(this.#manager.get(this.connection), this.table, (t) => {
      t.string('id', 64).primary();
      t.string('state', 16).notNullable();
      t.text('participants').notNullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.datetime('updated_at', { precision: 3 }).notNullable();
      t.index(['state'], `${this.table.slice(0, 50)}_state`);
    });
  }

  async decide(id: string, state: 'committing' | 'aborted', participants: ParticipantRecord[]): Promise<TxRecord> {
    await this.ensure();
    return this.#decisions.submit({ id, state, participants, at: new Date() });
  }

  async #insertDecisions(batch: Decision[]): Promise<ReadonlyArray<TxRecord | Promise<TxRecord>>> {
    const connection = this.#manager.get(this.connection);
    if (batch.length > 1) {
      try {
        await connection.runBuilder(connection.knex(this.table).insert(batch.map((d) => decisionRow(connection, d))));
        return batch.map((d) => ({ id: d.id, state: d.state, participants: d.participants, createdAt: d.at, updatedAt: d.at }));
      } catch {
        // A decision of the group met one already standing (or the write failed, its fate unknown): the
        // statement inserted nothing or everything, so each decision is tried alone, as a lone one would be.
      }
    }
    const alone = batch.map((d) => this.#insertDecision(connection, d));
    await Promise.allSettled(alone);
    return alone;
  }

  async #insertDecision(connection: Connection, decision: Decision): Promise<TxRecord> {
    try {
      await connection.runBuilder(connection.knex(this.table).insert(decisionRow(connection, decision)));
    } catch (error) {
      // A duplicate key means another decision landed first: that one stands.
      const existing = await this.get(decision.id);
      if (existing) return existing;
      throw error;
    }
    return { id: decision.id, state: decision.state, participants: decision.participants, createdAt: decision.at, updatedAt: decision.at };
  }

  complete(id: string): Promise<void> {
    return this.#doneMarks.submit(id);
  }

  async #markCommitted(ids: string[]): Promise<void[]> {
    const connection = this.#manager.get(this.connection);
    const committed = connection.knex(this.table).whereIn('id', ids).where({ state: 'committing' }).update({ state: 'committed', updated_at: connection.dialect.codec.datetime(new Date()) as string });
    await connection.runBuilder(committed);
    return ids.map(() => undefined);
  }

  async get(id: string): Promise<TxRecord | undefined> {
    await this.ensure();
    const connection = this.#manager.get(this.connection);
    const row = (await connection.runBuilder(connection.knex(this.table).where({ id }).first())).rows[0] as unknown as Row | undefined;
    return row && toRecord(row);
  }

  async pending(): Promise<TxRecord[]> {
    await this.ensure();
    const connection = this.#manager.get(this.connection);
    const { rows } = await connection.runBuilder(connection.knex(this.table).where({ state: 'committing' }));
    return (rows as unknown as Row[]).map(toRecord);
  }
}

function decisionRow(connection: Connection, decision: Decision) {
  const at = connection.dialect.codec.datetime(decision.at) as string;
  return { id: decision.id, state: decision.state, participants: JSON.stringify(decision.participants), created_at: at, updated_at: at };
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
