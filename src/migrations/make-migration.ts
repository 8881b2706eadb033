import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrationTargets } from './targets.js';
import type { MigrationOptions } from './migration-types.js';

/** The kind of file {@link makeMigration} writes: TypeScript, or JavaScript as an ES module. */
export type MigrationFileKind = 'ts' | 'mjs';

const TEMPLATES: Record<MigrationFileKind, string> = {
  ts: `import type { Knex } from 'knex'

export async function up(knex: Knex): Promise<void> {
  // e.g. await knex.schema.createTable('users', (t) => { t.increments('id'); t.string('email') })
}

export async function down(knex: Knex): Promise<void> {
  // undo what up() did, e.g. await knex.schema.dropTable('users')
}
`,
  mjs: `/** @param {import('knex').Knex} knex */
export async function up(knex) {
  // e.g. await knex.schema.createTable('users', (t) => { t.increments('id'); t.string('email') })
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  // undo what up() did, e.g. await knex.schema.dropTable('users')
}
`,
};

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
export function makeMigration(name: string, options: Omit<MigrationOptions, 'connections'> & { connection: string; kind: MigrationFileKind; now?: Date }): string {
  const [target] = migrationTargets({ ...options, connections: [options.connection] });
  const stamp = (options.now ?? new Date()).toISOString().replace(/\D/g, '').slice(0, 14);
  const file = join(target!.directory, `${stamp}_${name.replace(/[^\w-]+/g, '_')}.${options.kind}`);
  mkdirSync(target!.directory, { recursive: true });
  writeFileSync(file, TEMPLATES[options.kind], { flag: 'wx' });
  return file;
}
