import { ConnectionManager } from 'polyrecord';
import { BENCH_CONNECTION, BenchUser } from '../model.js';
import type { BenchTarget } from '../targets.js';
import type { Contender, PageVisitor, ScoreUpdater } from './contender.js';
import { newTextCondition } from './sql.js';

/** polyrecord through the `BenchUser` model, the way an application would write it. */
export function openPolyrecord(target: BenchTarget): Contender {
  ConnectionManager.configure(BENCH_CONNECTION, target.polyrecordConfig);
  return {
    name: 'polyrecord',
    findById: (id) => BenchUser.find(id),
    readRows: (limit) => BenchUser.query().limit(limit).all(),
    insertOne: async (row) => (await BenchUser.create(row)).id,
    bulkInsert: (rows) => BenchUser.bulkInsert(rows),
    bulkUpsert: (rows) => BenchUser.bulkInsertOrUpdate(rows, { conflictKeys: ['email'] }),
    async iterate(pageSize: number, visit: PageVisitor) {
      let visited = 0;
      for await (const users of BenchUser.batch(pageSize)) {
        visited += users.length;
        if (visit(users) === false) break;
      }
      return visited;
    },
    async prepareUpdates(ids): Promise<ScoreUpdater> {
      const loaded = new Map((await BenchUser.whereIn('id', ids)).map((user) => [user.id, user]));
      const instances = ids.map((id) => loaded.get(id)!);
      return async (index, score) => {
        const user = instances[index]!;
        user.score = score;
        await user.save();
      };
    },
    findByNewText: (id, variant) => BenchUser.whereRaw(newTextCondition(variant)).where('id', id).first(),
    close: () => ConnectionManager.remove(BENCH_CONNECTION),
  };
}
