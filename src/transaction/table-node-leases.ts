import { ensureBookkeepingTable } from '../connection/bookkeeping-table.js';
import { decoders } from '../connection/column-codecs.js';
import type { Connection } from '../connection/connection.js';
import type { ConnectionManager } from '../connection/manager.js';
import type { NodeLease, NodeLeaseStore } from './node-lease.js';

/** The table of coordinator node leases next to the default coordinator log table (another log table `t` keeps them in `t_nodes`). */
export const TX_NODES_TABLE = 'polyrecord_tx_nodes';

interface Row {
  node_id: string;
  epoch: unknown;
  beat: unknown;
  lease_ms: unknown;
  heartbeat_at: unknown;
  recovered_by: string | null;
  retired_at: unknown;
}

/**
 * Node leases as rows of a table (`polyrecord_tx_nodes`) on the coordinator log's connection. Every
 * change is one autocommitted conditional UPDATE (or INSERT … ON CONFLICT DO NOTHING), and
 * its affected-row count says whether it landed: the database serialises competing
 * claims on the row. No database clock is read: expiry is judged by the observers (see
 * `ClusterNode`), so no dialect-specific SQL is needed.
 */
export class TableNodeLeases implements NodeLeaseStore {
  readonly #connection: string;
  readonly #table: string;
  readonly #manager: ConnectionManager;
  #ready: Promise<void> | undefined;

  constructor(connection: string, table: string, manager: ConnectionManager) {
    this.#connection = connection;
    this.#table = table;
    this.#manager = manager;
  }

  async register(nodeId: string, leaseMs: number): Promise<NodeLease> {
    const connection = await this.#ensured();
    const insert = connection.knex(this.#table).insert({ node_id: nodeId, epoch: 1, beat: 1, lease_ms: leaseMs, heartbeat_at: now(connection), recovered_by: null, retired_at: null }).onConflict('node_id').ignore();
    await connection.runBuilder(insert);
    return (await this.get(nodeId))!;
  }

  async get(nodeId: string): Promise<NodeLease | undefined> {
    const connection = await this.#ensured();
    const row = (await connection.runBuilder(connection.knex(this.#table).where({ node_id: nodeId }))).rows[0] as unknown as Row | undefined;
    return row && toLease(row);
  }

  async list(): Promise<NodeLease[]> {
    const connection = await this.#ensured();
    const { rows } = await connection.runBuilder(connection.knex(this.#table).orderBy('node_id'));
    return (rows as unknown as Row[]).map(toLease);
  }

  async renew(nodeId: string, epoch: number, holder: string | null, leaseMs: number): Promise<boolean> {
    const connection = await this.#ensured();
    const update = held(connection.knex(this.#table).where({ node_id: nodeId, epoch }), holder).update({ beat: connection.knex.raw('beat + 1'), lease_ms: leaseMs, heartbeat_at: now(connection), retired_at: null });
    return (await connection.runBuilder(update)).affected === 1;
  }

  async claim(seen: NodeLease, by: string | null, leaseMs: number): Promise<NodeLease | undefined> {
    const connection = await this.#ensured();
    const update = connection
      .knex(this.#table)
      .where({ node_id: seen.nodeId, epoch: seen.epoch, beat: seen.beat })
      .update({ epoch: seen.epoch + 1, beat: seen.beat + 1, lease_ms: leaseMs, heartbeat_at: now(connection), recovered_by: by, retired_at: null });
    if ((await connection.runBuilder(update)).affected !== 1) return undefined;
    return { nodeId: seen.nodeId, epoch: seen.epoch + 1, beat: seen.beat + 1, leaseMs, heartbeatAt: new Date(), recoveredBy: by, retiredAt: null };
  }

  release(nodeId: string, epoch: number, by: string): Promise<boolean> {
    return this.#endTakeover(nodeId, epoch, by, false);
  }

  retire(nodeId: string, epoch: number, by: string): Promise<boolean> {
    return this.#endTakeover(nodeId, epoch, by, true);
  }

  async #endTakeover(nodeId: string, epoch: number, by: string, retire: boolean): Promise<boolean> {
    const connection = await this.#ensured();
    const update = connection
      .knex(this.#table)
      .where({ node_id: nodeId, epoch, recovered_by: by })
      .update({ beat: connection.knex.raw('beat + 1'), heartbeat_at: now(connection), recovered_by: null, retired_at: retire ? now(connection) : null });
    return (await connection.runBuilder(update)).affected === 1;
  }

  async #ensured(): Promise<Connection> {
    const connection = this.#manager.get(this.#connection);
    this.#ready ??= ensureBookkeepingTable(connection, this.#table, (t) => {
      t.string('node_id', 24).primary();
      t.integer('epoch').notNullable();
      t.integer('beat').notNullable();
      t.integer('lease_ms').notNullable();
      t.datetime('heartbeat_at', { precision: 3 }).notNullable();
      t.string('recovered_by', 24).nullable();
      t.datetime('retired_at', { precision: 3 }).nullable();
    }).catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    await this.#ready;
    return connection;
  }
}

/** Narrows to rows held by `holder` (null: by nobody else, the node's own duty). */
function held<B extends { whereNull(column: string): B; where(values: Record<string, unknown>): B }>(builder: B, holder: string | null): B {
  return holder === null ? builder.whereNull('recovered_by') : builder.where({ recovered_by: holder });
}

function now(connection: Connection): string {
  return connection.dialect.codec.datetime(new Date()) as string;
}

function toLease(row: Row): NodeLease {
  return {
    nodeId: row.node_id,
    epoch: Number(row.epoch),
    beat: Number(row.beat),
    leaseMs: Number(row.lease_ms),
    heartbeatAt: decoders.datetime(row.heartbeat_at) as Date,
    recoveredBy: row.recovered_by ?? null,
    retiredAt: row.retired_at === null || row.retired_at === undefined ? null : (decoders.datetime(row.retired_at) as Date),
  };
}
