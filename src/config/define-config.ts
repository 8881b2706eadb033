import type { ConnectionConfig } from '../connection/config.js';
import type { SyncJob } from '../sync/sync-job.js';

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
  /** Reserved: accepted and ignored today. */
  coordinator?: unknown;
  /** Reserved: accepted and ignored today. */
  relays?: unknown;
}

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
