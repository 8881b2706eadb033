import { describe, expect, it } from 'vitest';
import { keyValue } from '../src/model/key-values.js';

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
