import createKnex from 'knex';
import type { BenchTarget } from '../targets.js';
import { T } from './data.js';
import { handWritten, type HandReader, type RelationContender, type Row } from './contender.js';

/** Hand-written knex: one knex instance per database, default driver settings. */
export function openKnexRelations(main: BenchTarget, second: BenchTarget, page: number): RelationContender {
  const knex = createKnex(main.knexConfig);
  const other = createKnex(second.knexConfig);
  const reader: HandReader = {
    parents: (limit) => {
      const query = knex(T.parents).select('id', 'name').orderBy('id');
      return (limit === undefined ? query : query.where('id', '<=', limit)) as Promise<Row[]>;
    },
    whereIn: (onSecond, table, columns, column, values) => (onSecond ? other : knex)(table).select(columns).whereIn(column, values as number[]) as Promise<Row[]>,
    parentsWithCount: () =>
      knex(T.parents).select('id', 'name', knex(T.children).count('*').where('parent_id', knex.ref(`${T.parents}.id`)).as('children_count')) as Promise<Row[]>,
    eventsAfter: (after, size) => knex(T.events).select('id', 'parent_id', 'amount').where('id', '>', after).orderBy('id').limit(size) as Promise<Row[]>,
    close: async () => {
      await knex.destroy();
      await other.destroy();
    },
  };
  return handWritten('knex', reader, page);
}
