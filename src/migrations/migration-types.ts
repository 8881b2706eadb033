import type { ConnectionManager } from '../connection/manager.js';
import type { PolyrecordConfig } from '../config/define-config.js';

/** What {@link migrate} and the rollback did on one connection. */
export interface MigrationRun {
  connection: string;
  /** The batch number knex recorded (0 when nothing ran). */
  batch: number;
  /** The files applied (migrate) or reverted (rollback), in order. */
  files: string[];
  /** False where the database commits DDL implicitly (MySQL/MariaDB): a failed file is not undone. */
  transactionalDdl: boolean;
}

/** Applied and pending migration files of one connection. */
export interface MigrationStatus {
  connection: string;
  applied: string[];
  pending: string[];
}

/** Which connections to visit, on which manager. */
export interface MigrationOptions {
  /** Connection names (or aliases); default every connection with migrations, in config order. */
  connections?: string[];
  /** Default `ConnectionManager.default`. */
  manager?: ConnectionManager;
  /** Default the configuration {@link configureFrom} applied to the manager. */
  config?: PolyrecordConfig;
  /** Folder the config's relative directories start from; default the one given to configureFrom. */
  baseDir?: string;
}
