import type { MaybePromise, PageVisitor } from './contender.js';

/**
 * Keyset pagination for contenders without a batch iterator: fetch rows with
 * `id > last` in id order, `size` at a time, until a short page.
 */
export async function keysetPages(size: number, fetch: (after: number, size: number) => MaybePromise<readonly { id: number }[]>, visit: PageVisitor): Promise<number> {
  let after = 0;
  let visited = 0;
  for (;;) {
    const page = await fetch(after, size);
    if (page.length === 0) return visited;
    visited += page.length;
    if (visit(page) === false || page.length < size) return visited;
    after = page[page.length - 1]!.id;
  }
}
