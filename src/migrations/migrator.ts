import type { Knex } from 'knex';
import { driverErrorCode } from '../connection/dialects/dialect.js';
import { MigrationError, MigrationFileFailure } from './migration-error.js';
import type { MigrationOptions, MigrationRun, MigrationStatus } from './migration-types.js';
import { migrationTargets, type MigrationTarget } from './targets.js';

/**
 * Applies the pending migrations of every connection that has some (or of `connections`), one
 * connection after another in config order. On PostgreSQL and SQLite each file runs in a
 * transaction; MySQL/MariaDB commit DDL implicitly (see `transactionalDdl` in the result).
 *
 * @example
 * ```ts
 * configureFrom(config)
 * const runs = await migrate() // [{ connection: 'primary', batch: 1, files: ['20260101_users.ts'], transactionalDdl: true }, ...]
 * ```
 * @throws {MigrationError} naming the connection, file and statement that failed; connections
 *   migrated before it stay migrated and are listed in `completed`.
 */
export async function migrate(options: MigrationOptions = {}): Promise<MigrationRun[]> {
  return visit(migrationTargets(options), async (migrator, target) => {
    const [batch, files] = (await migrator.latest(target.knexConfig)) as [number, string[]];
    return { batch, files };
  });
}

/**
 * Reverts, on each connection (last configured first), its last batch of migrations, or its
 * last `step` migrations when `step` is given.
 *
 * @example
 * ```ts
 * await migrateRollback({ connections: ['primary'], step: 1 })
 * ```
 * @throws {MigrationError} as {@link migrate} does.
 */
export async function migrateRollback(options: MigrationOptions & { step?: number } = {}): Promise<MigrationRun[]> {
  return visit(migrationTargets(options).reverse(), async (migrator, target) => {
    if (options.step === undefined) {
      const [batch, files] = (await migrator.rollback(target.knexConfig)) as [number, string[]];
      return { batch, files };
    }
    const reverted: string[] = [];
    let batch = 0;
    for (let i = 0; i < options.step; i++) {
      const [number, files] = (await migrator.down(target.knexConfig)) as [number, string[]];
      if (files.length === 0) break;
      batch = number;
      reverted.push(...files);
    }
    return { batch, files: reverted };
  });
}

/**
 * The applied and pending migration files of each connection with migrations.
 *
 * @example
 * ```ts
 * for (const { connection, pending } of await migrationStatus()) console.log(connection, pending.length)
 * ```
 */
export async function migrationStatus(options: MigrationOptions = {}): Promise<MigrationStatus[]> {
  const statuses: MigrationStatus[] = [];
  for (const target of migrationTargets(options)) {
    const [applied, pending] = (await target.connection.knex.migrate.list(target.knexConfig)) as [unknown[], unknown[]];
    statuses.push({ connection: target.name, applied: applied.map(fileName), pending: pending.map(fileName) });
  }
  return statuses;
}

/** knex lists applied migrations as rows ({ name }) and pending ones as the source's items. */
function fileName(entry: unknown): string {
  return typeof entry === 'string' ? entry : String((entry as { name?: string; file?: string }).name ?? (entry as { file?: string }).file);
}

type Step = (migrator: Knex.Migrator, target: MigrationTarget) => Promise<{ batch: number; files: string[] }>;

/** Runs `step` on each target in turn; a failure stops the run and reports what completed. */
async function visit(targets: MigrationTarget[], step: Step): Promise<MigrationRun[]> {
  const runs: MigrationRun[] = [];
  for (const target of targets) {
    const { knex, dialect } = target.connection;
    // The first statement that failed, as knex reports it (the driver's error does not always
    // carry it); on PostgreSQL the lock release after it fails too, in the aborted transaction.
    let statement: string | undefined;
    const remember = (_error: unknown, query: { sql?: string }): void => {
      statement ??= query.sql;
    };
    knex.on('query-error', remember);
    try {
      const { batch, files } = await step(knex.migrate, target);
      runs.push({ connection: target.name, batch, files, transactionalDdl: dialect.transactionalDdl });
    } catch (error) {
      const failure = error instanceof MigrationFileFailure ? error : undefined;
      const original = failure?.original ?? error;
      // The driver's error and the statement may quote the password: both leave here filtered, as every query error does.
      const cause = driverErrorCode(original) === undefined ? original : target.connection.toQueryError(original, statement);
      const text = statement === undefined ? undefined : target.connection.settings.redact(statement);
      throw new MigrationError({ connection: target.name, file: failure?.file, statement: text, completed: runs, transactionalDdl: dialect.transactionalDdl, cause });
    } finally {
      knex.off('query-error', remember);
    }
  }
  return runs;
}
