import { PolyrecordError } from '../errors.js';
import type { MigrationRun } from './migration-types.js';

/**
 * A migration failed. The message names the connection, the file and, when known, the statement;
 * `completed` lists the connections migrated before it, which stay migrated.
 *
 * @example
 * ```ts
 * try { await migrate() }
 * catch (e) { if (e instanceof MigrationError) console.error(e.connection, e.file, e.statement) }
 * ```
 */
export class MigrationError extends PolyrecordError {
  readonly connection: string;
  readonly file: string | undefined;
  readonly statement: string | undefined;
  readonly completed: readonly MigrationRun[];

  constructor(details: { connection: string; file?: string; statement?: string; completed: readonly MigrationRun[]; transactionalDdl: boolean; cause: unknown }) {
    const where = details.file === undefined ? '' : `, file ${details.file}`;
    const statement = details.statement === undefined ? '' : `\n  statement: ${details.statement}`;
    const partial = details.transactionalDdl ? '' : '\n  note: this database commits DDL implicitly, so the statements of that file before the failing one stay applied; fix them by hand before migrating again';
    super('E_MIGRATION', `migration failed on connection "${details.connection}"${where}: ${(details.cause as Error)?.message ?? String(details.cause)}${statement}${partial}`, { cause: details.cause });
    this.connection = details.connection;
    this.file = details.file;
    this.statement = details.statement;
    this.completed = details.completed;
  }
}

/** @internal A migration file's `up` or `down` threw: carries the file to the migrator. */
export class MigrationFileFailure extends Error {
  constructor(readonly file: string, readonly original: unknown) {
    super((original as Error)?.message ?? String(original));
  }
}
