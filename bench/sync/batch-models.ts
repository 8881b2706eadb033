import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { ActiveRecord, Column, Model, PrimaryKey, UpdatedAt } from 'polyrecord';

export const SOURCE_TABLE = 'sync_source';
/** Target table of the SyncJob runs (the model's table). */
export const JOB_TABLE = 'sync_copy_job';
/** Target table of the hand-written knex loop. */
export const KNEX_TABLE = 'sync_copy_knex';

/** A source row in a SQLite file or a PostgreSQL table; the bench reaches each through `SyncBenchSource.using(connection)`. */
@Model({ connection: 'xs_src', table: SOURCE_TABLE })
export class SyncBenchSource extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) code!: string;
  @Column({ type: 'string' }) name!: string;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'integer' }) score!: number;
  @Column({ type: 'float' }) amount!: number;
  @UpdatedAt() updatedAt!: Date;
}

/** The copy on the target server, keyed by the unique `source_id`; the bench reaches each target through `SyncBenchCopy.using(connection)`. */
@Model({ connection: 'xs_dst', table: JOB_TABLE })
export class SyncBenchCopy extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'integer' }) sourceId!: number;
  @Column({ type: 'string' }) code!: string;
  @Column({ type: 'string' }) name!: string;
  @Column({ type: 'string' }) email!: string;
  @Column({ type: 'integer' }) score!: number;
  @Column({ type: 'float' }) amount!: number;
  @Column({ type: 'datetime' }) sourceUpdatedAt!: Date;
}

/** The SyncJob's map, and (by column name) the knex loop's. */
export const mapSource = (r: SyncBenchSource) => ({ sourceId: r.id, code: r.code, name: r.name, email: r.email, score: r.score, amount: r.amount, sourceUpdatedAt: r.updatedAt });

const EPOCH = Date.UTC(2024, 0, 1);

/*
 * The source rows, the same on every source: row `id` (1…rows) has
 *   code       'C' + id in base 36, zero-padded to 8 digits
 *   name       'Customer <id>',  email 'customer<id>@example.com'
 *   score      id % 10,000,      amount (id % 100,000) / 100
 *   updated_at EPOCH + floor(((id * 7919) % rows) / 2) * 10 ms
 * The watermark is not in id order (a permutation of the ids, two rows per millisecond
 * value, so batch boundaries fall between equal watermarks); indexed on (updated_at, id).
 * 7919 is prime and the row counts used here are not multiples of it.
 */

/**
 * Writes `rows` source rows into a new SQLite file with better-sqlite3 directly, the
 * watermark stored as ISO-8601 text with milliseconds as polyrecord writes it.
 */
export function seedSqliteSource(file: string, rows: number): void {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.exec(`CREATE TABLE ${SOURCE_TABLE} (id INTEGER PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL, score INTEGER NOT NULL, amount REAL NOT NULL, updated_at TEXT NOT NULL)`);
    const insert = db.prepare(`INSERT INTO ${SOURCE_TABLE} (id, code, name, email, score, amount, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    db.transaction(() => {
      for (let id = 1; id <= rows; id++) {
        const position = Math.floor(((id * 7919) % rows) / 2);
        insert.run(id, `C${id.toString(36).padStart(8, '0')}`, `Customer ${id}`, `customer${id}@example.com`, id % 10_000, (id % 100_000) / 100, new Date(EPOCH + position * 10).toISOString());
      }
    })();
    db.exec(`CREATE UNIQUE INDEX ${SOURCE_TABLE}_code ON ${SOURCE_TABLE} (code)`);
    db.exec(`CREATE INDEX ${SOURCE_TABLE}_watermark ON ${SOURCE_TABLE} (updated_at, id)`);
    db.exec(`ANALYZE`);
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';
/** `id` in base 36, zero-padded to 8 digits, as a SQL expression over the bigint `g`. */
const base36Sql = Array.from({ length: 8 }, (_, i) => `substr('${BASE36}', ((g / ${36 ** (7 - i)}) % 36)::int + 1, 1)`).join(' || ');

/**
 * Writes `rows` source rows into a new PostgreSQL table in one `insert … select` over
 * `generate_series` (the same rows as `seedSqliteSource`, the watermark a `timestamptz(3)`),
 * then indexes and analyzes it.
 */
export async function seedPostgresSource(knex: Knex, rows: number): Promise<void> {
  await knex.raw(`CREATE TABLE ${SOURCE_TABLE} (id integer PRIMARY KEY, code text NOT NULL, name text NOT NULL, email text NOT NULL, score integer NOT NULL, amount double precision NOT NULL, updated_at timestamptz(3) NOT NULL)`);
  await knex.raw(
    `INSERT INTO ${SOURCE_TABLE} (id, code, name, email, score, amount, updated_at)
     SELECT g, 'C' || ${base36Sql}, 'Customer ' || g, 'customer' || g || '@example.com', g % 10000, (g % 100000)::float8 / 100,
            timestamptz '${new Date(EPOCH).toISOString()}' + ((g * 7919) % ${rows} / 2) * interval '10 milliseconds'
     FROM generate_series(1::bigint, ${rows}::bigint) AS g`,
  );
  await knex.raw(`CREATE UNIQUE INDEX ${SOURCE_TABLE}_code ON ${SOURCE_TABLE} (code)`);
  await knex.raw(`CREATE INDEX ${SOURCE_TABLE}_watermark ON ${SOURCE_TABLE} (updated_at, id)`);
  await knex.raw(`VACUUM ANALYZE ${SOURCE_TABLE}`);
}

/** Drops and creates a target table (the job's or the knex loop's) on PostgreSQL or MariaDB. */
export async function createTargetTable(knex: Knex, table: string): Promise<void> {
  await knex.schema.dropTableIfExists(table);
  await knex.schema.createTable(table, (t) => {
    t.increments('id');
    t.integer('source_id').notNullable().unique();
    t.string('code', 32).notNullable();
    t.string('name', 100).notNullable();
    t.string('email', 191).notNullable();
    t.integer('score').notNullable();
    t.double('amount').notNullable();
    t.datetime('source_updated_at', { precision: 3 }).notNullable();
  });
}
