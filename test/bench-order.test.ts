import { describe, expect, it } from 'vitest';
import { balancedOrder } from '../bench/order.js';

// The bench's fairness rests on this order: every contender in every position, and right after every other, equally often.
describe('the bench order of contenders (balancedOrder)', () => {
  for (const n of [1, 2, 3, 4, 5, 6]) {
    it(`with ${n} contenders, balances positions and predecessors over one cycle of turns`, () => {
      const items = Array.from({ length: n }, (_, i) => `c${i}`);
      const cycle = n % 2 === 0 ? n : 2 * n;
      const positions = new Map<string, number>();
      const after = new Map<string, number>();
      for (let turn = 0; turn < cycle; turn++) {
        const order = balancedOrder(items, turn);
        expect([...order].sort()).toEqual(items);
        order.forEach((item, position) => positions.set(`${item}@${position}`, (positions.get(`${item}@${position}`) ?? 0) + 1));
        for (let i = 1; i < n; i++) after.set(`${order[i - 1]}>${order[i]}`, (after.get(`${order[i - 1]}>${order[i]}`) ?? 0) + 1);
      }
      // Each of the n×n (item, position) pairs, and each of the n×(n−1) ordered neighbour pairs, the same number of times.
      expect(positions.size).toBe(n * n);
      expect(new Set(positions.values()).size).toBe(1);
      if (n > 1) {
        expect(after.size).toBe(n * (n - 1));
        expect(new Set(after.values()).size).toBe(1);
      }
    });
  }

  it('repeats its cycle and leaves the given list as it was', () => {
    const items = Object.freeze(['raw', 'prepared', 'knex', 'polyrecord']);
    expect(balancedOrder(items, 0)).toEqual(['raw', 'prepared', 'polyrecord', 'knex']);
    expect(balancedOrder(items, 1)).toEqual(['prepared', 'knex', 'raw', 'polyrecord']);
    expect(balancedOrder(items, 5)).toEqual(balancedOrder(items, 1));
    expect(items).toEqual(['raw', 'prepared', 'knex', 'polyrecord']);
  });
});
