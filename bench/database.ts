import createKnex, { type Knex } from 'knex';
import { chunks, type UserRow } from './data.js';
import type { Dialect } from './options.js';
import type { BenchTarget } from './targets.js';

export const TABLE = 'users';

/**
 * The bench's own connection to the target database, used between timed sections
 * only: it recreates the table, seeds it, checks results and reads the server version.
 */
export class BenchDatabase {
  readonly #knex: Knex;
  readonly #dialect: Dialect;

  private constructor(knex: Knex, dialect: Dialect) {
    this.#knex = knex;
    this.#dialect = dialect;
  }

  static async open(target: BenchTarget): Promise<BenchDatabase> {
    const knex = createKnex(target.knexConfig);
    // WAL is a property of the file: every contender's SQLite connection sees it (polyrecord turns it on too).
    if (target.dialect === 'sqlite') await knex.raw('PRAGMA journal_mode = WAL');
    return new BenchDatabase(knex, target.dialect);
  }

  /** Drops and recreates the table (empty, ids from 1), then inserts `rows`. */
  async reset(rows: readonly UserRow[] = []): Promise<void> {
    const knex = this.#knex;
    await knex.schema.dropTableIfExists(TABLE);
    await knex.schema.createTable(TABLE, (t) => {
      t.increments('id');
      t.string('email', 191).notNullable().unique();
      t.string('name', 100).notNullable();
      t.integer('score').notNullable();
      t.boolean('active').notNullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
    });
    await knex.transaction(async (trx) => {
      for (const chunk of chunks(rows, 500)) await trx(TABLE).insert(chunk.map((row) => this.#encode(row)));
    });
    await this.#settle();
  }

  /** Rows in the table, optionally only those matching a SQL condition. */
  async count(condition?: string): Promise<number> {
    const query = this.#knex(TABLE).count({ n: '*' });
    if (condition) query.whereRaw(condition);
    const [row] = await query;
    return Number(row?.n ?? 0);
  }

  async serverVersion(): Promise<string> {
    const sql = { sqlite: 'select sqlite_version() as v', postgresql: "select current_setting('server_version') as v", mysql: 'select version() as v' }[this.#dialect];
    const result = await this.#knex.raw(sql);
    const rows = this.#dialect === 'postgresql' ? result.rows : this.#dialect === 'mysql' ? result[0] : result;
    return String(rows[0].v);
  }

  close(): Promise<void> {
    return this.#knex.destroy();
  }

  // The same stored representation polyrecord writes: ISO text on SQLite, UTC wall time on MySQL.
  #encode(row: UserRow): Record<string, unknown> {
    const createdAt =
      this.#dialect === 'sqlite' ? row.createdAt.toISOString() : this.#dialect === 'mysql' ? row.createdAt.toISOString().replace('T', ' ').replace('Z', '') : row.createdAt;
    return { email: row.email, name: row.name, score: row.score, active: row.active, created_at: createdAt };
  }

  // Leave every contender the same physical state: statistics fresh, SQLite's WAL folded back into the file.
  async #settle(): Promise<void> {
    if (this.#dialect === 'postgresql') await this.#knex.raw(`VACUUM ANALYZE ${TABLE}`);
    else if (this.#dialect === 'mysql') await this.#knex.raw(`ANALYZE TABLE ${TABLE}`);
    else await this.#knex.raw('PRAGMA wal_checkpoint(TRUNCATE)');
  }
}
