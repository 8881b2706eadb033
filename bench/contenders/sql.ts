import { INSERT_COLUMNS, UPSERT_UPDATE_COLUMNS, USER_COLUMNS, chunks, type UserRow } from '../data.js';
import { TABLE } from '../database.js';
import type { Dialect } from '../options.js';

/** The hand-written statements of the raw-driver contenders, in each dialect's placeholder syntax. */
export interface RawStatements {
  findById: string;
  readRows: string;
  /** `INSERT` of one row; on PostgreSQL with `RETURNING id`. */
  insertOne: string;
  /** `INSERT` of `rows` rows, or an upsert on `email` that overwrites the other columns. */
  insert(rows: number, upsert: boolean): string;
  /** Keyset page: `id > ?` ordered by id, `LIMIT ?`. */
  page: string;
  /** `SET score = ? WHERE id = ?`. */
  updateScore: string;
  /** W8's text: `WHERE score <> <-1 - variant inlined> AND id = ?`, a new text per variant. */
  findByNewText(variant: number): string;
}

/** W8's inlined condition (scores are never negative, so it filters nothing). */
export const newTextCondition = (variant: number) => `score <> ${-1 - variant}`;

const SELECT = `SELECT ${USER_COLUMNS.join(', ')} FROM ${TABLE}`;
const INSERT = `INSERT INTO ${TABLE} (${INSERT_COLUMNS.join(', ')}) VALUES `;

function upsertClause(dialect: Dialect): string {
  if (dialect === 'mysql') return ` ON DUPLICATE KEY UPDATE ${UPSERT_UPDATE_COLUMNS.map((c) => `${c} = VALUES(${c})`).join(', ')}`;
  return ` ON CONFLICT (email) DO UPDATE SET ${UPSERT_UPDATE_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}`;
}

export function rawStatements(dialect: Dialect): RawStatements {
  // PostgreSQL numbers its placeholders; SQLite and MySQL take `?`.
  const p = dialect === 'postgresql' ? (n: number) => `$${n}` : () => '?';
  const tuple = (row: number) => `(${INSERT_COLUMNS.map((_, c) => p(row * INSERT_COLUMNS.length + c + 1)).join(', ')})`;
  const insert = (rows: number, upsert: boolean) =>
    INSERT + Array.from({ length: rows }, (_, r) => tuple(r)).join(', ') + (upsert ? upsertClause(dialect) : '');
  return {
    findById: `${SELECT} WHERE id = ${p(1)}`,
    readRows: `${SELECT} LIMIT ${p(1)}`,
    insertOne: insert(1, false) + (dialect === 'postgresql' ? ' RETURNING id' : ''),
    insert,
    page: `${SELECT} WHERE id > ${p(1)} ORDER BY id LIMIT ${p(2)}`,
    updateScore: `UPDATE ${TABLE} SET score = ${p(1)} WHERE id = ${p(2)}`,
    findByNewText: (variant) => `${SELECT} WHERE ${newTextCondition(variant)} AND id = ${p(1)}`,
  };
}

/** Rows per multi-row INSERT of the raw PostgreSQL and MySQL contenders. */
export const RAW_INSERT_CHUNK = 1000;

/** How a raw contender turns the values its driver cannot bind as they are. */
export interface RowEncoding {
  active(value: boolean): unknown;
  createdAt(value: Date): unknown;
}

/**
 * Multi-row INSERTs (or upserts) of `rows`, {@link RAW_INSERT_CHUNK} at a time, run one
 * after the other by `exec` (on a connection the caller holds in a transaction).
 */
export async function insertInChunks(rows: readonly UserRow[], upsert: boolean, statements: RawStatements, encode: RowEncoding, exec: (sql: string, values: unknown[]) => Promise<unknown>): Promise<void> {
  for (const part of chunks(rows, RAW_INSERT_CHUNK)) {
    const values: unknown[] = [];
    for (const row of part) pushRow(values, row, encode);
    await exec(statements.insert(part.length, upsert), values);
  }
}

/** Appends a row's values to `out` in `INSERT_COLUMNS` order, with the driver-specific values `encode` makes. */
export function pushRow(out: unknown[], row: UserRow, encode: RowEncoding): unknown[] {
  out.push(row.email, row.name, row.score, encode.active(row.active), encode.createdAt(row.createdAt));
  return out;
}
