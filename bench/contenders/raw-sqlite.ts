import Database from 'better-sqlite3';
import type { UserRow } from '../data.js';
import type { BenchTarget } from '../targets.js';
import type { Contender } from './contender.js';
import { keysetPages } from './paging.js';
import { pushRow, rawStatements, type RowEncoding } from './sql.js';

// better-sqlite3 binds neither booleans nor Dates: store 0/1 and ISO-8601 text.
const ENCODE: RowEncoding = { active: (v) => (v ? 1 : 0), createdAt: (v) => v.toISOString() };

type Row = { id: number };

/**
 * better-sqlite3 with statements prepared once and reused; bulk writes are one
 * prepared single-row statement looped inside `db.transaction`, SQLite's fast path.
 */
export function openRawSqlite(target: BenchTarget): Contender {
  const db = new Database(target.location);
  // The durability polyrecord's connections use (a file already in WAL mode would otherwise open with NORMAL).
  db.pragma('synchronous = FULL');
  const sql = rawStatements('sqlite');
  const findById = db.prepare<[number], Row>(sql.findById);
  const readRows = db.prepare<[number], Row>(sql.readRows);
  const insert = db.prepare<unknown[]>(sql.insert(1, false));
  const upsert = db.prepare<unknown[]>(sql.insert(1, true));
  const page = db.prepare<[number, number], Row>(sql.page);
  const updateScore = db.prepare<[number, number]>(sql.updateScore);
  const params = (row: UserRow) => pushRow([], row, ENCODE);
  const insertAll = db.transaction((rows: readonly UserRow[]) => {
    for (const row of rows) insert.run(params(row));
  });
  const upsertAll = db.transaction((rows: readonly UserRow[]) => {
    for (const row of rows) upsert.run(params(row));
  });

  return {
    name: 'raw',
    findById: (id) => findById.get(id),
    readRows: (limit) => readRows.all(limit),
    insertOne: (row) => Number(insert.run(params(row)).lastInsertRowid),
    bulkInsert: (rows) => insertAll(rows),
    bulkUpsert: (rows) => upsertAll(rows),
    iterate: (pageSize, visit) => keysetPages(pageSize, (after, size) => page.all(after, size), visit),
    prepareUpdates: (ids) => (index, score) => updateScore.run(score, ids[index]!),
    findByNewText: (id, variant) => db.prepare<[number], Row>(sql.findByNewText(variant)).get(id),
    close: async () => {
      db.close();
    },
  };
}
