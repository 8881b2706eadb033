import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A migration that creates (and drops) a table of two columns, as TypeScript or as an ES module. */
export function tableMigration(table: string, kind: 'ts' | 'mjs' = 'ts'): string {
  const knexType = kind === 'ts' ? ': import(\'knex\').Knex' : '';
  return `export async function up(knex${knexType}) { await knex.schema.createTable('${table}', (t) => { t.increments('id'); t.string('name') }) }
export async function down(knex${knexType}) { await knex.schema.dropTable('${table}') }
`;
}

/** A migration whose second statement fails: it refers to a table that does not exist. */
export const FAILING_MIGRATION = `export async function up(knex) {
  await knex.schema.createTable('before_failure', (t) => { t.increments('id') })
  await knex.raw('insert into no_such_table (id) values (1)')
}
export async function down() {}
`;

/** Writes migration files (name → text) into a folder, creating it. */
export function writeMigrations(directory: string, files: Record<string, string>): void {
  mkdirSync(directory, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(directory, name), text);
}
