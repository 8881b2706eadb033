import pg from 'pg';
import type { UserRow } from '../data.js';
import type { BenchTarget } from '../targets.js';
import type { Contender } from './contender.js';
import { keysetPages } from './paging.js';
import { insertInChunks, pushRow, rawStatements, type RowEncoding } from './sql.js';

// pg binds booleans and Dates itself.
const AS_IS: RowEncoding = { active: (v) => v, createdAt: (v) => v };

type Row = { id: number };

/** A `pg` Pool and `pool.query`; bulk writes are multi-row INSERTs on one client inside BEGIN/COMMIT. */
export function openRawPostgres(target: BenchTarget): Contender {
  const pool = new pg.Pool({ connectionString: target.location, max: 10 });
  const sql = rawStatements('postgresql');

  const insertChunks = async (rows: readonly UserRow[], upsert: boolean) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await insertInChunks(rows, upsert, sql, AS_IS, (text, values) => client.query(text, values));
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  };

  return {
    name: 'raw',
    findById: async (id) => (await pool.query<Row>(sql.findById, [id])).rows[0],
    readRows: async (limit) => (await pool.query<Row>(sql.readRows, [limit])).rows,
    insertOne: async (row) => (await pool.query<Row>(sql.insertOne, pushRow([], row, AS_IS))).rows[0]!.id,
    bulkInsert: (rows) => insertChunks(rows, false),
    bulkUpsert: (rows) => insertChunks(rows, true),
    iterate: (pageSize, visit) => keysetPages(pageSize, async (after, size) => (await pool.query<Row>(sql.page, [after, size])).rows, visit),
    prepareUpdates: (ids) => (index, score) => pool.query(sql.updateScore, [score, ids[index]]),
    findByNewText: async (id, variant) => (await pool.query<Row>(sql.findByNewText(variant), [id])).rows[0],
    close: () => pool.end(),
  };
}
