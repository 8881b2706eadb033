/**
 * The order in which `items` run in turn `turn`: row `turn` of a Williams Latin square (the
 * balanced design of crossover trials). Over `n` turns (`2n` when `n` is odd) every item runs
 * in every position equally often and right after every other item equally often.
 *
 * Whoever runs next inherits the garbage and the evicted caches of whoever ran before. A
 * plain rotation puts each item in every position but nearly always after the same
 * neighbour: rotating raw, prepared, knex and polyrecord put polyrecord after knex, the
 * contender that leaves the most of both, in three turns of four (docs/performance.md,
 * "A balanced order").
 *
 * @example
 * balancedOrder(['a', 'b', 'c', 'd'], 0); // ['a', 'b', 'd', 'c']
 * balancedOrder(['a', 'b', 'c', 'd'], 1); // ['b', 'c', 'a', 'd']
 */
export function balancedOrder<T>(items: readonly T[], turn: number): T[] {
  const n = items.length;
  if (n < 2) return [...items];
  const row = turn % (n % 2 === 0 ? n : 2 * n);
  // The first row is 0, 1, n-1, 2, n-2, …; the others shift it, and for an odd n the second n rows are the first n reversed.
  const order = Array.from({ length: n }, (_, j) => items[((j === 0 ? 0 : j % 2 === 1 ? (j + 1) / 2 : n - j / 2) + row) % n]!);
  return row >= n ? order.reverse() : order;
}
