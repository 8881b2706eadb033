import type { UserRow } from '../data.js';
import type { ContenderName } from '../options.js';

/** A value, or a promise of it: the raw SQLite driver answers synchronously and the bench awaits either. */
export type MaybePromise<T> = T | Promise<T>;

/** What a page visitor returns: `false` stops the iteration early (warm-up reads only a few pages). */
export type PageVisitor = (page: readonly object[]) => boolean | void;

/** Updates user `ids[index]`, setting its score. */
export type ScoreUpdater = (index: number, score: number) => MaybePromise<unknown>;

/**
 * One way of talking to the database. Each workload calls one of these in a timed
 * loop; every contender does the same work on the same table with its own connection.
 */
export interface Contender {
  readonly name: ContenderName;
  /** W1: the user with this id, as the contender returns it. */
  findById(id: number): MaybePromise<unknown>;
  /** W2: the first `limit` users. */
  readRows(limit: number): MaybePromise<readonly unknown[]>;
  /** W3: inserts one user (autocommit) and resolves with its generated id. */
  insertOne(row: UserRow): MaybePromise<number>;
  /** W4: inserts every row, in one transaction. */
  bulkInsert(rows: readonly UserRow[]): MaybePromise<unknown>;
  /** W5: inserts every row, updating the users whose email exists, in one transaction. */
  bulkUpsert(rows: readonly UserRow[]): MaybePromise<unknown>;
  /** W6: every user in pages of `pageSize` by ascending id; resolves with the number of rows visited. */
  iterate(pageSize: number, visit: PageVisitor): MaybePromise<number>;
  /** W7: loads what the contender needs to update these users (untimed) and returns the updater. */
  prepareUpdates(ids: readonly number[]): MaybePromise<ScoreUpdater>;
  /**
   * W8: the user with this id through a query whose text is new on every call (a
   * condition with the inlined value `variant`, as generated reports and ad-hoc filters
   * write them). Resolves with the user, or undefined.
   */
  findByNewText(id: number, variant: number): MaybePromise<unknown>;
  close(): Promise<void>;
}
