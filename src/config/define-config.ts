import type { ConnectionConfig } from '../connection/config.js';
import type { SyncJob } from '../sync/sync-job.js';
import type { OutboxRelayOptions } from '../sync/outbox-relay.js';
import type { CoordinatorLog } from '../transaction/coordinator-log.js';
import type { Saga } from '../transaction/saga.js';

/** Where one connection keeps its migration files and which table records the applied ones. */
export interface MigrationSettings {
  /** The folder of migration files (.ts, .mjs, .js), relative to the config file's folder. */
  directory: string;
  /** The bookkeeping table; default `polyrecord_migrations`. */
  tableName?: string;
}

/**
 * The contents of `polyrecord.config.{ts,mjs,js}`: what the `polyrecord` command and the
 * application (through {@link configureFrom}) both read.
 */
export interface PolyrecordConfig {
  /** Connection name → settings, in the order `migrate` visits them. */
  connections: Record<string, ConnectionConfig>;
  /** Alias → connection name. */
  aliases?: Record<string, string>;
  /**
   * The application's models, which `polyrecord schema:check` compares with their tables and
   * `make:migration --from-models` creates: the classes, or a glob of the files that export them
   * (relative to the config file's folder, e.g. `'src/models/*.ts'`).
   */
  models?: readonly unknown[] | string;
  /** Connection name → its migrations. Connections without an entry have none. */
  migrations?: Record<string, MigrationSettings>;
  /**
   * Job name → a {@link SyncJob}, or a function that makes one (called only when the job is
   * run or inspected, so a config file that imports heavy job modules stays cheap to load).
   * `polyrecord sync run <name>` and `polyrecord sync status` find them here.
   */
  jobs?: Record<string, SyncJob<any, any> | (() => SyncJob<any, any> | Promise<SyncJob<any, any>>)>;
  /** The cross-database transaction coordinator that `tx in-doubt` and `tx recover` act for. */
  coordinator?: CoordinatorSettings;
  /** The outbox relays `outbox relay` runs, one entry per outbox (several may name one connection). */
  relays?: RelaySettings[];
  /**
   * Sagas by name, for `saga resume <name>` (and `saga list`, which reads their logs): a
   * `Saga`, or a function returning one (called when a command needs it). The key must be
   * the saga's name.
   */
  sagas?: Record<string, SagaDefinition>;
}

/**
 * Where the coordinator of cross-database transactions keeps its decisions, and which
 * node it is: what `polyrecord tx recover` needs to finish that node's in-doubt branches.
 *
 * @example
 * ```ts
 * coordinator: { log: { connection: 'txlog' }, nodeId: 'orders-api' }
 * ```
 */
export interface CoordinatorSettings {
  /**
   * The coordinator log: any `CoordinatorLog` (`TableLog`, `FileLog`, your own), or the
   * connection (and table, default `polyrecord_tx_log`) of a `TableLog` the command makes.
   * Prefer the second form: it uses the command's own connections.
   */
  log: CoordinatorLog | { connection: string; table?: string };
  /** The node whose branches `tx recover` finishes. Default `POLYRECORD_NODE_ID`, else the host name, as for `CrossDbTransaction`. */
  nodeId?: string;
}

/**
 * One outbox relay run by `polyrecord outbox relay`: the options of `new OutboxRelay(...)`
 * (handlers by model name; models with `@SyncTo` and no handler go to their sync targets,
 * so list those models in `models` for the config to load them), plus `workers`.
 *
 * @example
 * ```ts
 * relays: [{ connection: 'primary', handlers: { Order: (event) => publish(event) }, batchSize: 200, workers: 2 }]
 * ```
 */
export interface RelaySettings extends Omit<OutboxRelayOptions, 'manager'> {
  /** How many relays on this outbox the command runs at once (they never take the same event). Default 1. */
  workers?: number;
}

/** What the commands use of a saga: any `Saga`, whatever its input and results, fits. */
export type ConfiguredSaga = Pick<Saga, 'name' | 'log' | 'resume'>;

/** A saga in the config: the `Saga`, or a function that makes it. */
export type SagaDefinition = ConfiguredSaga | (() => ConfiguredSaga);

/**
 * Types a configuration file's default export; it returns its argument unchanged.
 *
 * @example
 * ```ts
 * // polyrecord.config.ts
 * import { defineConfig } from 'polyrecord'
 *
 * export default defineConfig({
 *   connections: { primary: { url: process.env.DATABASE_URL }, analytics: { driver: 'sqlite', database: './analytics.db' } },
 *   aliases: { reports: 'analytics' },
 *   migrations: { primary: { directory: './migrations/primary' } },
 * })
 * ```
 */
export function defineConfig<const T extends PolyrecordConfig>(config: T): T {
  return config;
}
