/**
 * A value now, or a promise of it. The write and single-row read paths return this so
 * that on a synchronous driver (SQLite) a call finishes without a promise per layer:
 * before the JIT has optimised them, each `async` layer's suspension costs more than
 * the statement.
 */
export type MaybePromise<T> = T | Promise<T>;

/** `fn` applied to `value` now, or once it resolves. */
export function andThen<T, U>(value: MaybePromise<T>, fn: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/** A promise of what `fn` gives: its value, its promise, or its throw as a rejection. */
export function promised<T>(fn: () => MaybePromise<T>): Promise<T> {
  try {
    const value = fn();
    return value instanceof Promise ? value : Promise.resolve(value);
  } catch (error) {
    return Promise.reject(error);
  }
}
