import { ConnectionManager, correlate } from 'polyrecord';
import type { BenchTarget } from '../targets.js';
import type { RelationContender } from './contender.js';
import { REL_CONNECTION, REL_SECOND_CONNECTION, RelEvent, RelParent, RelRemoteParent } from './models.js';

/** polyrecord's relations, the way an application would write them. */
export function openPolyrecordRelations(main: BenchTarget, second: BenchTarget, page: number): RelationContender {
  ConnectionManager.configure(REL_CONNECTION, main.polyrecordConfig);
  ConnectionManager.configure(REL_SECOND_CONNECTION, second.polyrecordConfig);
  const countChildren = (parents: readonly { children: readonly unknown[] }[]) => parents.reduce((sum, p) => sum + p.children.length, 0);
  return {
    name: 'polyrecord',
    preload: async (parents) => countChildren(await RelParent.where('id', '<=', parents).orderBy('id').preload('children')),
    preloadAcross: async (parents) => countChildren(await RelRemoteParent.where('id', '<=', parents).orderBy('id').preload('children')),
    async nested(parents) {
      let notes = 0;
      for (const parent of await RelParent.where('id', '<=', parents).orderBy('id').preload('children.items.notes')) {
        for (const child of parent.children) for (const item of child.items) notes += item.notes.length;
      }
      return notes;
    },
    async withCount() {
      let children = 0;
      for (const parent of await RelParent.withCount('children')) children += parent.$counts.children!;
      return children;
    },
    async correlate(limit, tick) {
      const parents = await RelParent.all();
      let pairs = 0;
      for await (const pair of correlate(RelEvent.batch(page), parents, { on: ['parentId', 'id'] })) {
        if (pair.right !== undefined) pairs++;
        if (pairs % page === 0) {
          tick();
          if (pairs >= limit) break;
        }
      }
      return pairs;
    },
    close: async () => {
      await ConnectionManager.remove(REL_CONNECTION);
      await ConnectionManager.remove(REL_SECOND_CONNECTION);
    },
  };
}
