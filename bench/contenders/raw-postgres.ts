import pg from 'pg';
import type { UserRow } from '../data.js';
import type { ContenderName } from '../options.js';
import type { BenchTarget } from '../targets.js';
import type { Contender } from './contender.js';
import { keysetPages } from './paging.js';
import { insertInChunks, pushRow, rawStatements, type RowEncoding } from './sql.js';

// pg binds booleans and Dates itself.
const AS_IS: RowEncoding = { active: (v) => v, createdAt: (v) => v };

type Row = { id: number };

/**
 * A `pg` Pool; bulk writes are multi-row INSERTs on one client inside BEGIN/COMMIT.
 * `raw` sends every text unnamed (`pool.query(text, values)`: parsed and planned on each
 * run); `prepared` names each repeating statement (`{ name, text, values }`), so every
 * pooled session prepares it once and then only binds and executes, as polyrecord's
 * statement cache does. W8's new texts stay unnamed in both: naming them would keep every
 * one on the server.
 */
export function openRawPostgres(target: BenchTarget, name: Extract<ContenderName, 'raw' | 'prepared'> = 'raw'): Contender {
  const pool = new pg.Pool({ connectionString: target.location, max: 10 });
  const sql = rawStatements('postgresql');
  const query = <R extends pg.QueryResultRow>(statement: string, text: string, values: unknown[], on: pg.Pool | pg.PoolClient = pool) =>
    name === 'prepared' ? on.query<R>({ name: statement, text, values }) : on.query<R>(text, values);

  const insertChunks = async (rows: readonly UserRow[], upsert: boolean) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await insertInChunks(rows, upsert, sql, AS_IS, (text, values) => query(`insert-${values.length}-${upsert}`, text, values, client));
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  };

  return {
    name,
    findById: async (id) => (await query<Row>('find', sql.findById, [id])).rows[0],
    readRows: async (limit) => (await query<Row>('read', sql.readRows, [limit])).rows,
    insertOne: async (row) => (await query<Row>('insert', sql.insertOne, pushRow([], row, AS_IS))).rows[0]!.id,
    bulkInsert: (rows) => insertChunks(rows, false),
    bulkUpsert: (rows) => insertChunks(rows, true),
    iterate: (pageSize, visit) => keysetPages(pageSize, async (after, size) => (await query<Row>('page', sql.page, [after, size])).rows, visit),
    prepareUpdates: (ids) => (index, score) => query('update', sql.updateScore, [score, ids[index]]),
    findByNewText: async (id, variant) => (await pool.query<Row>(sql.findByNewText(variant), [id])).rows[0],
    close: () => pool.end(),
  };
}
