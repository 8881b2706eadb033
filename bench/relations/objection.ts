import createKnex from 'knex';
import { Model } from 'objection';
import type { BenchTarget } from '../targets.js';
import { T } from './data.js';
import type { RelationContender } from './contender.js';

class ObjNote extends Model {
  static override tableName = T.notes;
}

class ObjItem extends Model {
  static override tableName = T.items;
  static override relationMappings = () => ({
    notes: { relation: Model.HasManyRelation, modelClass: ObjNote, join: { from: `${T.items}.id`, to: `${T.notes}.item_id` } },
  });
}

class ObjChild extends Model {
  static override tableName = T.children;
  static override relationMappings = () => ({
    items: { relation: Model.HasManyRelation, modelClass: ObjItem, join: { from: `${T.children}.id`, to: `${T.items}.child_id` } },
  });
}

class ObjParent extends Model {
  static override tableName = T.parents;
  static override relationMappings = () => ({
    children: { relation: Model.HasManyRelation, modelClass: ObjChild, join: { from: `${T.parents}.id`, to: `${T.children}.parent_id` } },
  });
}

type Loaded = { children: { items?: { notes: unknown[] }[] }[] };

/**
 * Objection 3 (`withGraphFetched`, its separate-queries eager loading, and a `relatedQuery`
 * count subquery). It has no R2 (an eager query runs on the root query's knex: relations
 * cannot cross databases, Objection #2349) and no in-memory join for R5.
 */
export function openObjectionRelations(main: BenchTarget): RelationContender {
  const knex = createKnex(main.knexConfig);
  const tree = (parents: number, graph: string) => ObjParent.query(knex).where('id', '<=', parents).orderBy('id').withGraphFetched(graph) as unknown as Promise<Loaded[]>;
  return {
    name: 'objection',
    preload: async (parents) => (await tree(parents, 'children')).reduce((sum, p) => sum + p.children.length, 0),
    async nested(parents) {
      let notes = 0;
      for (const parent of await tree(parents, 'children.items.notes')) {
        for (const child of parent.children) for (const item of child.items!) notes += item.notes.length;
      }
      return notes;
    },
    async withCount() {
      const rows = (await ObjParent.query(knex).select(`${T.parents}.*`, ObjParent.relatedQuery('children').count().as('childrenCount'))) as unknown as { childrenCount: unknown }[];
      return rows.reduce((sum, row) => sum + Number(row.childrenCount), 0);
    },
    close: () => knex.destroy(),
  };
}
