import createKnex from 'knex';
import { INSERT_COLUMNS, UPSERT_UPDATE_COLUMNS, USER_COLUMNS, chunks, type UserRow } from '../data.js';
import { newTextCondition } from './sql.js';
import { TABLE } from '../database.js';
import type { BenchTarget } from '../targets.js';
import type { Contender } from './contender.js';
import { keysetPages } from './paging.js';

/**
 * Rows per multi-row INSERT. knex writes SQLite multi-row inserts as `SELECT … UNION ALL`,
 * which SQLite caps at 500 terms; elsewhere 1,000 is knex's own `batchInsert` default.
 */
const CHUNK = { sqlite: 500, postgresql: 1000, mysql: 1000 } as const;

function columns(row: UserRow): Record<(typeof INSERT_COLUMNS)[number], unknown> {
  return { email: row.email, name: row.name, score: row.score, active: row.active, created_at: row.createdAt };
}

/** The plain knex query builder, default driver settings. */
export function openKnex(target: BenchTarget): Contender {
  const knex = createKnex(target.knexConfig);
  const chunk = CHUNK[target.dialect];
  // Only PostgreSQL answers an INSERT's generated id through RETURNING; knex reports it without on the others.
  const returning = target.dialect === 'postgresql';

  const insertChunks = (rows: readonly UserRow[], upsert: boolean) =>
    knex.transaction(async (trx) => {
      for (const part of chunks(rows, chunk)) {
        const insert = trx(TABLE).insert(part.map(columns));
        await (upsert ? insert.onConflict('email').merge([...UPSERT_UPDATE_COLUMNS]) : insert);
      }
    });

  return {
    name: 'knex',
    findById: (id) => knex(TABLE).select(USER_COLUMNS).where('id', id).first(),
    readRows: (limit) => knex(TABLE).select(USER_COLUMNS).limit(limit),
    async insertOne(row) {
      if (returning) {
        const [inserted] = await knex(TABLE).insert(columns(row)).returning('id');
        return (inserted as { id: number }).id;
      }
      const [id] = await knex(TABLE).insert(columns(row));
      return id as number;
    },
    bulkInsert: (rows) => insertChunks(rows, false),
    bulkUpsert: (rows) => insertChunks(rows, true),
    iterate: (pageSize, visit) =>
      keysetPages(pageSize, (after, size) => knex(TABLE).select(USER_COLUMNS).where('id', '>', after).orderBy('id').limit(size), visit),
    prepareUpdates: (ids) => (index, score) => knex(TABLE).where('id', ids[index]!).update({ score }),
    findByNewText: (id, variant) => knex(TABLE).select(USER_COLUMNS).whereRaw(newTextCondition(variant)).where('id', id).first(),
    close: () => knex.destroy(),
  };
}
