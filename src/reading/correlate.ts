import type { KeyValue } from '../model/key-values.js';
import { CorrelateError } from './reading-errors.js';
import { keyReaders, type KeyPair, type KeyReader } from './join-keys.js';

/** SQL's join types: `inner` keeps matched pairs only, `left`/`right` also the unmatched rows of that side, `full` of both. */
export type JoinType = 'inner' | 'left' | 'right' | 'full';

/** One joined pair; the side an outer join found no match for is `null`. */
export type Correlated<L, R, T extends JoinType = 'inner'> = T extends 'inner'
  ? { left: L; right: R }
  : T extends 'left'
    ? { left: L; right: R | null }
    : T extends 'right'
      ? { left: L | null; right: R }
      : { left: L | null; right: R | null };

type Key<T> = Extract<keyof T, string>;

/** Options of `correlate()`. */
export interface CorrelateOptions<L, R, T extends JoinType = 'inner'> {
  /** The left property and the right property that must be equal, or several such pairs (a composite key). */
  on: readonly [Key<L>, Key<R>] | ReadonlyArray<readonly [Key<L>, Key<R>]>;
  /** Default `'inner'`. */
  type?: T;
}

/** Options of `correlate.rows()`. */
export interface CorrelateRowsOptions<L, R, T extends JoinType = 'inner'> extends CorrelateOptions<L, R, T> {
  /** Prepended to the left row's and the right row's property names; default `['left_', 'right_']`. */
  prefix?: readonly [string, string];
}

/** The left side when it is too large to hold: an async iterable of rows, or of arrays of rows (what `Model.batch(n)` yields). */
export type StreamedRows<L> = AsyncIterable<L | readonly L[]>;

interface JoinSpec {
  readonly pairs: readonly KeyPair[];
  readonly keepLeft: boolean;
  readonly keepRight: boolean;
}

/**
 * Joins two result sets in memory, as SQL would join them if they lived in one database:
 * pairs `{ left, right }` whose `on` properties are equal, in the order of the left rows
 * (a left row's matches in right order; the unmatched right rows of a `right` or `full`
 * join come last, in right order). A hash join, O(N+M), that hashes the smaller side.
 *
 * Keys compare by value: a bigint equals the number of the same integer (a PostgreSQL
 * bigint id matches the number a SQLite foreign key holds) and a Date its instant. A
 * numeric string equals its number only where both sides are model instances whose key
 * columns are integer or bigint; plain objects compare strings as strings. A key with a
 * `null` or `undefined` part matches nothing, as in SQL.
 *
 * The left side may be an async iterable of rows or of row arrays (`User.batch(1000)`):
 * then the right side (an array) is hashed, the left is read one batch at a time, and
 * the result is an async generator of the pairs, so only the right side and the current
 * batch are held in memory.
 *
 * @example
 * ```ts
 * const [users, orders] = await Promise.all([User.using('crm').all(), Order.where('total', '>', 100)])
 * for (const { left: user, right: order } of correlate(users, orders, { on: ['id', 'userId'], type: 'left' })) {
 *   console.log(user.email, order?.total ?? 'no big order')
 * }
 * // Streaming the large side:
 * for await (const pair of correlate(User.batch(1000), orders, { on: [['tenantId', 'tenantId'], ['id', 'userId']] })) send(pair)
 * ```
 */
export function correlate<L extends object, R extends object, T extends JoinType = 'inner'>(left: readonly L[], right: readonly R[], options: CorrelateOptions<L, R, T>): Correlated<L, R, T>[];
export function correlate<L extends object, R extends object, T extends JoinType = 'inner'>(left: StreamedRows<L>, right: readonly R[], options: CorrelateOptions<L, R, T>): AsyncGenerator<Correlated<L, R, T>, void, undefined>;
export function correlate(left: readonly object[] | StreamedRows<object>, right: readonly object[], options: CorrelateOptions<object, object, JoinType>): unknown {
  const spec = joinSpec(options);
  checkRight(right);
  if (Array.isArray(left)) return joinArrays(left, right, spec);
  if (isAsyncIterable(left)) return joinStream(left, right, spec);
  throw new CorrelateError('the left side must be an array, or an async iterable of rows or of row arrays');
}

/**
 * `correlate()` as flat objects: each pair's properties with the left and right prefix
 * (`['left_', 'right_']` unless given), the missing side's properties `null` in an outer
 * join. Returns an array, or an async generator when the left side is an async iterable.
 *
 * @example
 * ```ts
 * correlate.rows(users, orders, { on: ['id', 'userId'], type: 'left', prefix: ['user_', 'order_'] })
 * // [{ user_id: 1, user_email: 'a@x.io', order_id: 7, order_userId: 1, order_total: 120 }, { user_id: 2, user_email: 'b@x.io', order_id: null, … }]
 * ```
 */
function correlateRows<L extends object, R extends object, T extends JoinType = 'inner'>(left: readonly L[], right: readonly R[], options: CorrelateRowsOptions<L, R, T>): Record<string, unknown>[];
function correlateRows<L extends object, R extends object, T extends JoinType = 'inner'>(left: StreamedRows<L>, right: readonly R[], options: CorrelateRowsOptions<L, R, T>): AsyncGenerator<Record<string, unknown>, void, undefined>;
function correlateRows(left: readonly object[] | StreamedRows<object>, right: readonly object[], options: CorrelateRowsOptions<object, object, JoinType>): unknown {
  const flatten = flattener(options.prefix ?? ['left_', 'right_'], Array.isArray(left) ? (left as readonly object[])[0] : undefined, right);
  const joined = correlate(left as StreamedRows<object>, right, options);
  if (Array.isArray(joined)) return (joined as Correlated<object, object, 'full'>[]).map(flatten);
  return (async function* () {
    for await (const pair of joined) yield flatten(pair);
  })();
}

correlate.rows = correlateRows;

function joinSpec(options: CorrelateOptions<object, object, JoinType>): JoinSpec {
  const on = options?.on as unknown;
  const pairs = isKeyPair(on) ? [on] : Array.isArray(on) && on.length > 0 && on.every(isKeyPair) ? (on as KeyPair[]) : undefined;
  if (pairs === undefined) throw new CorrelateError(`on must be a [leftProperty, rightProperty] pair or a non-empty list of them, got ${JSON.stringify(on)}`);
  const type = options.type ?? 'inner';
  if (!['inner', 'left', 'right', 'full'].includes(type)) throw new CorrelateError(`type must be 'inner', 'left', 'right' or 'full', got ${JSON.stringify(type)}`);
  return { pairs, keepLeft: type === 'left' || type === 'full', keepRight: type === 'right' || type === 'full' };
}

function isKeyPair(value: unknown): value is KeyPair {
  return Array.isArray(value) && value.length === 2 && value.every((p) => typeof p === 'string' && p !== '');
}

function checkRight(right: unknown): void {
  if (!Array.isArray(right)) throw new CorrelateError('the right side must be an array: it is the side held in memory and hashed (only the left side may be an async iterable)');
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

type Pair = Correlated<object, object, 'full'>;

/** Rows (by index) of one side, by key. Rows whose key has a null part are left out: they match nothing. */
function hashRows(rows: readonly object[], key: KeyReader): Map<KeyValue, number[]> {
  const table = new Map<KeyValue, number[]>();
  for (let i = 0; i < rows.length; i++) {
    const k = key(rows[i]!);
    if (k === undefined) continue;
    const bucket = table.get(k);
    if (bucket) bucket.push(i);
    else table.set(k, [i]);
  }
  return table;
}

function joinArrays(left: readonly object[], right: readonly object[], spec: JoinSpec): Pair[] {
  const keys = keyReaders(spec.pairs, left[0], right[0]);
  return left.length < right.length ? joinHashingLeft(left, right, keys, spec) : joinHashingRight(left, right, keys, spec);
}

function joinHashingRight(left: readonly object[], right: readonly object[], keys: { left: KeyReader; right: KeyReader }, spec: JoinSpec): Pair[] {
  const table = hashRows(right, keys.right);
  const matched = new Uint8Array(right.length);
  const out: Pair[] = [];
  for (const l of left) probe(l, table, keys.left, right, matched, spec, out);
  if (spec.keepRight) for (let j = 0; j < right.length; j++) if (!matched[j]) out.push({ left: null, right: right[j]! });
  return out;
}

/** The left side is smaller: hash it, read the right side once, then emit in left order. */
function joinHashingLeft(left: readonly object[], right: readonly object[], keys: { left: KeyReader; right: KeyReader }, spec: JoinSpec): Pair[] {
  const table = hashRows(left, keys.left);
  const matches: Array<object[] | undefined> = new Array(left.length);
  const unmatchedRight: object[] = [];
  for (const r of right) {
    const k = keys.right(r);
    const bucket = k === undefined ? undefined : table.get(k);
    if (bucket) for (const i of bucket) (matches[i] ??= []).push(r);
    else if (spec.keepRight) unmatchedRight.push(r);
  }
  const out: Pair[] = [];
  for (let i = 0; i < left.length; i++) {
    const found = matches[i];
    if (found) for (const r of found) out.push({ left: left[i]!, right: r });
    else if (spec.keepLeft) out.push({ left: left[i]!, right: null });
  }
  for (const r of unmatchedRight) out.push({ left: null, right: r });
  return out;
}

/** Appends the pairs of one left row, looked up in the hashed right side. */
function probe(l: object, table: Map<KeyValue, number[]>, key: KeyReader, right: readonly object[], matched: Uint8Array, spec: JoinSpec, out: Pair[]): void {
  const k = key(l);
  const bucket = k === undefined ? undefined : table.get(k);
  if (bucket === undefined) {
    if (spec.keepLeft) out.push({ left: l, right: null });
    return;
  }
  for (const j of bucket) {
    matched[j] = 1;
    out.push({ left: l, right: right[j]! });
  }
}

/** Streams the left side past the hashed right side, one left batch's pairs at a time. The right side is hashed once the first left row tells how its keys compare. */
async function* joinBatches(left: StreamedRows<object>, right: readonly object[], spec: JoinSpec): AsyncGenerator<Pair[], void, undefined> {
  const matched = new Uint8Array(right.length);
  let keys: { left: KeyReader; right: KeyReader } | undefined;
  let table: Map<KeyValue, number[]> | undefined;
  for await (const item of left) {
    const rows = Array.isArray(item) ? (item as readonly object[]) : [item as object];
    const out: Pair[] = [];
    for (const l of rows) {
      if (keys === undefined) {
        keys = keyReaders(spec.pairs, l, right[0]);
        table = hashRows(right, keys.right);
      }
      probe(l, table!, keys.left, right, matched, spec, out);
    }
    yield out;
  }
  if (spec.keepRight) {
    const unmatched: Pair[] = [];
    for (let j = 0; j < right.length; j++) if (!matched[j]) unmatched.push({ left: null, right: right[j]! });
    yield unmatched;
  }
}

/**
 * The pairs of {@link joinBatches} one at a time. An async generator that yielded each pair
 * would suspend and resume per pair (three promise turns each: a third of a million-row
 * join); this hands out the pairs of a batch already in hand as resolved promises, and goes
 * back to the batches only when the batch is used up.
 */
class PairStream implements AsyncGenerator<Pair, void, undefined> {
  readonly #batches: AsyncGenerator<Pair[], void, undefined>;
  #batch: Pair[] = [];
  #next = 0;

  constructor(batches: AsyncGenerator<Pair[], void, undefined>) {
    this.#batches = batches;
  }

  next(): Promise<IteratorResult<Pair, void>> {
    if (this.#next < this.#batch.length) return Promise.resolve({ value: this.#batch[this.#next++]!, done: false });
    return this.#refill();
  }

  async #refill(): Promise<IteratorResult<Pair, void>> {
    for (;;) {
      const batch = await this.#batches.next();
      if (batch.done) return { value: undefined, done: true };
      if (batch.value.length > 0) {
        this.#batch = batch.value;
        this.#next = 1;
        return { value: batch.value[0]!, done: false };
      }
    }
  }

  /** Stopping early (`break`) closes the left side's stream (its pages stop being read). */
  async return(): Promise<IteratorResult<Pair, void>> {
    this.#batch = [];
    await this.#batches.return(undefined);
    return { value: undefined, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<Pair, void>> {
    this.#batch = [];
    await this.#batches.throw(error);
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}

function joinStream(left: StreamedRows<object>, right: readonly object[], spec: JoinSpec): AsyncGenerator<Pair, void, undefined> {
  return new PairStream(joinBatches(left, right, spec));
}

/** Turns pairs into flat prefixed objects; a missing side has its properties null, as known from that side's first row (for a streamed left side, the first seen). */
function flattener(prefix: readonly [string, string], leftSample: object | undefined, right: readonly object[]): (pair: Pair) => Record<string, unknown> {
  if (!Array.isArray(prefix) || prefix.length !== 2 || !prefix.every((p) => typeof p === 'string') || prefix[0] === prefix[1]) {
    throw new CorrelateError(`prefix must be two different strings, got ${JSON.stringify(prefix)}`);
  }
  const [leftPrefix, rightPrefix] = prefix;
  let leftShape = leftSample && Object.keys(leftSample);
  const rightShape = right.length > 0 ? Object.keys(right[0]!) : [];
  return (pair) => {
    const flat: Record<string, unknown> = {};
    if (pair.left) {
      leftShape ??= Object.keys(pair.left);
      copy(flat, leftPrefix, pair.left);
    } else for (const key of leftShape ?? []) flat[leftPrefix + key] = null;
    if (pair.right) copy(flat, rightPrefix, pair.right);
    else for (const key of rightShape) flat[rightPrefix + key] = null;
    return flat;
  };
}

function copy(target: Record<string, unknown>, prefix: string, row: object): void {
  for (const key of Object.keys(row)) target[prefix + key] = (row as Record<string, unknown>)[key];
}
