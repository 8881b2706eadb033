import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrationTargets } from './targets.js';
import type { MigrationOptions } from './migration-types.js';

/** The kind of file {@link makeMigration} writes: TypeScript, or JavaScript as an ES module. */
export type MigrationFileKind = 'ts' | 'mjs';

/** The statements of a migration's `up` and `down`, as source lines (indented by two spaces). */
export interface MigrationBody {
  readonly up: string;
  readonly down: string;
}

const EMPTY: MigrationBody = {
  up: "  // e.g. await knex.schema.createTable('users', (t) => { t.increments('id'); t.string('email') })",
  down: "  // undo what up() did, e.g. await knex.schema.dropTable('users')",
};

/** A migration file's text: knex's format, as TypeScript or as an ES module. */
function migrationText(kind: MigrationFileKind, body: MigrationBody): string {
  if (kind === 'ts') return `import type { Knex } from 'knex'\n\nexport async function up(knex: Knex): Promise<void> {\n${body.up}\n}\n\nexport async function down(knex: Knex): Promise<void> {\n${body.down}\n}\n`;
  return `/** @param {import('knex').Knex} knex */\nexport async function up(knex) {\n${body.up}\n}\n\n/** @param {import('knex').Knex} knex */\nexport async function down(knex) {\n${body.down}\n}\n`;
}

/** What {@link makeMigration} takes: the connection, the kind of file, and the clock (for tests). */
export type MakeMigrationOptions = Omit<MigrationOptions, 'connections'> & { connection: string; kind: MigrationFileKind; now?: Date };

/**
 * Writes an empty migration, `<UTC timestamp>_<name>.<kind>`, into the connection's migration
 * folder (created if missing), and returns its path. Names sort by time, which is the order
 * they run in.
 *
 * @example
 * ```ts
 * const file = makeMigration('create_users', { connection: 'primary', kind: 'ts' }) // …/migrations/primary/20261206190512_create_users.ts
 * ```
 */
export function makeMigration(name: string, options: MakeMigrationOptions): string {
  return writeMigration(name, options, EMPTY);
}

/** Writes a migration with these statements (see {@link makeMigration}) and returns its path. */
export function writeMigration(name: string, options: MakeMigrationOptions, body: MigrationBody): string {
  const [target] = migrationTargets({ ...options, connections: [options.connection] });
  const stamp = (options.now ?? new Date()).toISOString().replace(/\D/g, '').slice(0, 14);
  const file = join(target!.directory, `${stamp}_${name.replace(/[^\w-]+/g, '_')}.${options.kind}`);
  mkdirSync(target!.directory, { recursive: true });
  writeFileSync(file, migrationText(options.kind, body), { flag: 'wx' });
  return file;
}
