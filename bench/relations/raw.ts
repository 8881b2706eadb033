import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { BenchTarget } from '../targets.js';
import { T } from './data.js';
import { handWritten, type HandReader, type RelationContender, type Row } from './contender.js';

/** Runs one statement with `?` placeholders on one database and resolves with its rows. */
interface RawDriver {
  all(sql: string, params: readonly unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

/** better-sqlite3, each text prepared once. */
function sqlite(target: BenchTarget): RawDriver {
  const db = new Database(target.location);
  const statements = new Map<string, Database.Statement>();
  return {
    async all(sql, params) {
      let statement = statements.get(sql);
      if (!statement) statements.set(sql, (statement = db.prepare(sql)));
      return statement.all(...params) as Row[];
    },
    close: async () => void db.close(),
  };
}

/** A `pg` Pool, unnamed statements. */
function postgres(target: BenchTarget): RawDriver {
  const pool = new pg.Pool({ connectionString: target.location, max: 10 });
  return {
    async all(sql, params) {
      let n = 0;
      return (await pool.query(sql.replace(/\?/g, () => `$${++n}`), params as unknown[])).rows as Row[];
    },
    close: () => pool.end(),
  };
}

/** A `mysql2` pool, `execute` (prepared and cached per connection). */
function mariadb(target: BenchTarget): RawDriver {
  const pool = mysql.createPool({ uri: target.location, connectionLimit: 10 });
  return {
    all: async (sql, params) => (await pool.execute<mysql.RowDataPacket[]>(sql, params as mysql.ExecuteValues[]))[0] as Row[],
    close: () => pool.end(),
  };
}

const OPEN = { sqlite, postgresql: postgres, mysql: mariadb } as const;

/** The raw driver with hand-written SQL and the same grouping as the knex contender. */
export function openRawRelations(main: BenchTarget, second: BenchTarget, page: number): RelationContender {
  const db = OPEN[main.dialect](main);
  const other = OPEN[second.dialect](second);
  const marks = (count: number) => Array.from({ length: count }, () => '?').join(', ');
  const reader: HandReader = {
    parents: (limit) => (limit === undefined ? db.all(`SELECT id, name FROM ${T.parents} ORDER BY id`, []) : db.all(`SELECT id, name FROM ${T.parents} WHERE id <= ? ORDER BY id`, [limit])),
    whereIn: (onSecond, table, columns, column, values) => (onSecond ? other : db).all(`SELECT ${columns.join(', ')} FROM ${table} WHERE ${column} IN (${marks(values.length)})`, values),
    parentsWithCount: () => db.all(`SELECT id, name, (SELECT count(*) FROM ${T.children} WHERE ${T.children}.parent_id = ${T.parents}.id) AS children_count FROM ${T.parents}`, []),
    eventsAfter: (after, size) => db.all(`SELECT id, parent_id, amount FROM ${T.events} WHERE id > ? ORDER BY id LIMIT ?`, [after, size]),
    close: async () => {
      await db.close();
      await other.close();
    },
  };
  return handWritten('raw', reader, page);
}
