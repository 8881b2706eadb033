import { describe, expect, it } from 'vitest';
import { keyValue } from '../src/model/key-values.js';
import type { ColumnMeta } from '../src/model/metadata.js';
import { distinctKeys } from '../src/model/relations/relation-keys.js';

const refuse = (property: string, kind: string) => new Error(`${property}: ${kind}`);
const key = (value: unknown, integerColumn = false) => keyValue(value, integerColumn, 'k', refuse);

describe('keys compared by value', () => {
  it('an integer is the same key as a number, a bigint, or (in an integer column) its digits, also beyond 2^53', () => {
    expect(new Set([key(42), key(42n), key('42', true), key('042', true)]).size).toBe(1);
    expect(key(2 ** 60)).toBe(key(2n ** 60n));
    expect(key(Number.MAX_SAFE_INTEGER)).toBe(key(BigInt(Number.MAX_SAFE_INTEGER)));
    expect(key(2n ** 53n + 1n)).not.toBe(key(2 ** 53));
    expect(key('9007199254740993', true)).toBe(key(2n ** 53n + 1n));
    expect(new Set([key(-0), key(0)]).size).toBe(1);
  });

  it('keeps apart what differs: text and numbers outside integer columns, fractions, booleans, dates', () => {
    expect(key('42')).not.toBe(key(42));
    expect(key(1.5)).not.toBe(key('1.5'));
    expect(key(true)).not.toBe(key(1));
    expect(key(new Date(5))).not.toBe(key(5));
    expect(key(new Date(5))).toBe(key(new Date(5)));
    expect(key(null)).toBeUndefined();
    expect(() => key({})).toThrow('[object Object]');
  });
});

describe('distinctKeys', () => {
  const column = (type: 'integer' | 'bigint' | 'string') => ({ type }) as ColumnMeta;
  const keysOf = (values: unknown[], type: 'integer' | 'bigint' | 'string' = 'integer', integer = true) => distinctKeys(values.map((k) => ({ k })), 'k', integer, column(type));

  it('keeps the first of each key, in order, whether the keys ascend or not', () => {
    expect(keysOf([1, 2, 3, 5])).toEqual([1, 2, 3, 5]);
    expect(keysOf([1, 2, 3, 2, 1, 4, 3])).toEqual([1, 2, 3, 4]);
    // A key equal to one of the ascending run, met after the run broke, is still a duplicate.
    expect(keysOf([1, 5, 9, 3, 5, 1, 10, 9])).toEqual([1, 5, 9, 3, 10]);
    expect(keysOf([4, 4, 4])).toEqual([4]);
    expect(keysOf([3, null, 1, undefined, 3])).toEqual([3, 1]);
  });

  it('compares by value across types, and gives the keys in the target column type', () => {
    expect(keysOf([1n, 2, '2', 3n, '1'], 'integer')).toEqual([1, 2, 3]);
    expect(keysOf([1, 2n, '3', 2], 'bigint')).toEqual([1n, 2n, 3n]);
    // Text outside integer columns: '2' and 2 are different keys.
    expect(keysOf([1, 2, '2', 'b', 'a', 'b'], 'string', false)).toEqual(['1', '2', '2', 'b', 'a']);
  });
});
