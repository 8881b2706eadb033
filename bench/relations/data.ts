import type { Knex } from 'knex';
import type { Dialect } from '../options.js';

/**
 * The relation bench's data, the same on every dialect, generated on the server by
 * `INSERT … SELECT` over a number series (a million rows in seconds, nothing sent row
 * by row). Parent `p` has children `10p-9 … 10p`; child `c` (of the first
 * {@link SIZES.nestedParents} parents) has items `2c-1, 2c`; item `i` has notes
 * `2i-1, 2i`; event `e` belongs to parent `(e-1) mod parents + 1`.
 */
export const SIZES = {
  parents: 10_000,
  childrenPerParent: 10,
  /** R1, R2: the first this many parents are preloaded. */
  preloadParents: 2_000,
  /** R3: the first this many parents are preloaded three levels deep. */
  nestedParents: 1_000,
  itemsPerChild: 2,
  notesPerItem: 2,
  events: 1_000_000,
  /** R5: `batch()` page size. */
  eventPage: 1_000,
} as const;

export const T = { parents: 'rel_parents', children: 'rel_children', items: 'rel_items', notes: 'rel_notes', events: 'rel_events' } as const;

const CHILDREN = SIZES.parents * SIZES.childrenPerParent;
const ITEMS = SIZES.nestedParents * SIZES.childrenPerParent * SIZES.itemsPerChild;
const NOTES = ITEMS * SIZES.notesPerItem;

/** A table of integers `n = 1 … count`, per dialect. */
function series(dialect: Dialect, count: number): string {
  switch (dialect) {
    case 'sqlite':
      return `(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${count}) SELECT n FROM s) AS s`;
    case 'postgresql':
      return `generate_series(1, ${count}) AS s(n)`;
    case 'mysql':
      // MariaDB's Sequence engine.
      return `(SELECT seq AS n FROM seq_1_to_${count}) AS s`;
  }
}

/** Integer division `a / b` rounded down (MariaDB's `/` is decimal). */
const div = (dialect: Dialect, a: string, b: number) => (dialect === 'mysql' ? `(${a}) DIV ${b}` : `(${a}) / ${b}`);

async function create(knex: Knex, table: string, foreign: string | undefined, text: string): Promise<void> {
  await knex.schema.dropTableIfExists(table);
  await knex.schema.createTable(table, (t) => {
    t.integer('id').primary();
    if (foreign) t.integer(foreign).notNullable().index();
    t.string(text, 100).notNullable();
  });
}

/** Recreates and fills the tables of the parents' database (every table but the second database's children). */
export async function seedRelations(knex: Knex, dialect: Dialect): Promise<void> {
  await create(knex, T.parents, undefined, 'name');
  await knex.raw(`INSERT INTO ${T.parents} (id, name) SELECT n, ${concat(dialect, "'Parent '", 'n')} FROM ${series(dialect, SIZES.parents)}`);
  await seedChildren(knex, dialect);
  await create(knex, T.items, 'child_id', 'label');
  await knex.raw(`INSERT INTO ${T.items} (id, child_id, label) SELECT n, ${div(dialect, 'n - 1', SIZES.itemsPerChild)} + 1, ${concat(dialect, "'Item '", 'n')} FROM ${series(dialect, ITEMS)}`);
  await create(knex, T.notes, 'item_id', 'body');
  await knex.raw(`INSERT INTO ${T.notes} (id, item_id, body) SELECT n, ${div(dialect, 'n - 1', SIZES.notesPerItem)} + 1, ${concat(dialect, "'Note '", 'n')} FROM ${series(dialect, NOTES)}`);
  // Events have no index on parent_id: R5 reads them in primary-key order only.
  await knex.schema.dropTableIfExists(T.events);
  await knex.schema.createTable(T.events, (t) => {
    t.integer('id').primary();
    t.integer('parent_id').notNullable();
    t.integer('amount').notNullable();
  });
  await knex.raw(`INSERT INTO ${T.events} (id, parent_id, amount) SELECT n, ${mod(dialect, 'n - 1', SIZES.parents)} + 1, ${mod(dialect, 'n', 100)} FROM ${series(dialect, SIZES.events)}`);
  await settle(knex, dialect, Object.values(T));
}

/** Recreates and fills the children table (also alone, in the second database for R2). */
export async function seedChildren(knex: Knex, dialect: Dialect): Promise<void> {
  await create(knex, T.children, 'parent_id', 'title');
  await knex.raw(`INSERT INTO ${T.children} (id, parent_id, title) SELECT n, ${div(dialect, 'n - 1', SIZES.childrenPerParent)} + 1, ${concat(dialect, "'Child '", 'n')} FROM ${series(dialect, CHILDREN)}`);
  await settle(knex, dialect, [T.children]);
}

const concat = (dialect: Dialect, a: string, b: string) => (dialect === 'mysql' ? `CONCAT(${a}, ${b})` : `${a} || ${b}`);
const mod = (dialect: Dialect, a: string, b: number) => (dialect === 'sqlite' ? `((${a}) % ${b})` : `MOD(${a}, ${b})`);

async function settle(knex: Knex, dialect: Dialect, tables: readonly string[]): Promise<void> {
  for (const table of tables) {
    if (dialect === 'postgresql') await knex.raw(`VACUUM ANALYZE ${table}`);
    else if (dialect === 'mysql') await knex.raw(`ANALYZE TABLE ${table}`);
  }
  if (dialect === 'sqlite') await knex.raw('PRAGMA wal_checkpoint(TRUNCATE)');
}

/** What every contender's result must add up to (checked after each timed run). */
export const EXPECTED = {
  preloadChildren: SIZES.preloadParents * SIZES.childrenPerParent,
  nestedNotes: NOTES,
  counted: CHILDREN,
  correlated: SIZES.events,
} as const;
