import mysql from 'mysql2/promise';
import type { UserRow } from '../data.js';
import type { BenchTarget } from '../targets.js';
import type { Contender } from './contender.js';
import { keysetPages } from './paging.js';
import { insertInChunks, pushRow, rawStatements, type RowEncoding } from './sql.js';

// mysql2 binds booleans and Dates itself.
const AS_IS: RowEncoding = { active: (v) => v, createdAt: (v) => v };

type Row = { id: number } & mysql.RowDataPacket;

/** A `mysql2` pool and `pool.execute` (prepared, cached per connection); bulk writes are multi-row INSERTs in one transaction. */
export function openRawMysql(target: BenchTarget): Contender {
  const pool = mysql.createPool({ uri: target.location, connectionLimit: 10 });
  const sql = rawStatements('mysql');

  const insertChunks = async (rows: readonly UserRow[], upsert: boolean) => {
    const connection = await pool.getConnection();
    try {
      await connection.beginTransaction();
      await insertInChunks(rows, upsert, sql, AS_IS, (text, values) => connection.execute(text, values as mysql.ExecuteValues[]));
      await connection.commit();
    } catch (error) {
      await connection.rollback();
      throw error;
    } finally {
      connection.release();
    }
  };

  return {
    name: 'raw',
    findById: async (id) => (await pool.execute<Row[]>(sql.findById, [id]))[0][0],
    readRows: async (limit) => (await pool.execute<Row[]>(sql.readRows, [limit]))[0],
    insertOne: async (row) => (await pool.execute<mysql.ResultSetHeader>(sql.insertOne, pushRow([], row, AS_IS) as mysql.ExecuteValues[]))[0].insertId,
    bulkInsert: (rows) => insertChunks(rows, false),
    bulkUpsert: (rows) => insertChunks(rows, true),
    iterate: (pageSize, visit) => keysetPages(pageSize, async (after, size) => (await pool.execute<Row[]>(sql.page, [after, size]))[0], visit),
    prepareUpdates: (ids) => (index, score) => pool.execute(sql.updateScore, [score, ids[index]!]),
    // query(), not execute(): mysql2 would prepare and keep every new text on the server.
    findByNewText: async (id, variant) => (await pool.query<Row[]>(sql.findByNewText(variant), [id]))[0][0],
    close: () => pool.end(),
  };
}
