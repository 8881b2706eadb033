import type { Knex } from 'knex';
import type { Connection } from '../connection.js';
import type { DriverConnection, ExecOptions, ExecResult } from '../dialects/dialect.js';
import { nativeStatement, type StatementBuilder } from '../builder-statement.js';
import { encodeRawBinding } from '../column-codecs.js';
import { currentFrame, runInFrame, scopedTransaction } from '../../context/scope.js';
import { TransactionError } from '../../errors.js';
import type { RetryPolicy } from '../../util/retry.js';
import { markCommitUncertain, runRetried, transactionRetry, type TransactionOptions } from './transaction-retry.js';

// A local transaction is a session of one connection: BEGIN, statements on the held driver
// connection, savepoints, COMMIT or ROLLBACK. It lives under connection/ so that
// `ConnectionManager.transaction()` can open one without the connection layer importing
// the transaction layer above it; cross-database transactions and sagas there build on it.

const RAW: ExecOptions = { prepare: 'never' };

type Callback = () => unknown;
type State = 'active' | 'committed' | 'rolled back';

/**
 * An open local transaction (or savepoint) on one connection. Model queries on the
 * connection join it automatically inside the callback; use {@link Transaction.table}
 * and {@link Transaction.query} for SQL polyrecord does not model.
 */
export class Transaction {
  readonly connection: Connection;
  /** The enclosing transaction when this is a savepoint. */
  readonly parent: Transaction | undefined;
  #driverConnection: DriverConnection | undefined;
  // A cross-database branch opens on its first statement: this starts it.
  #starter: (() => Promise<DriverConnection>) | undefined;
  #starting: Promise<DriverConnection> | undefined;
  #state: State = 'active';
  // Keyed so one record written twice in a transaction runs its callbacks once.
  #afterCommit = new Map<unknown, Callback>();
  #afterRollback = new Map<unknown, Callback>();
  // Savepoints of one transaction share its connection: they run one after another.
  #savepointQueue: Promise<unknown> = Promise.resolve();
  #savepoints = 0;
  /** Outermost transaction only: set when the server rolled the whole transaction back under a savepoint. */
  #lost: TransactionError | undefined;

  /**
   * @internal Pass the driver connection of an open transaction, or a function that
   * opens one on first use (cross-database branches).
   */
  constructor(connection: Connection, driverConnection: DriverConnection | (() => Promise<DriverConnection>), parent: Transaction | undefined) {
    this.connection = connection;
    if (typeof driverConnection === 'function') this.#starter = driverConnection as () => Promise<DriverConnection>;
    else this.#driverConnection = driverConnection;
    this.parent = parent;
  }

  /** @internal A handle for a transaction that is already over: every statement on it is refused. */
  static finished(connection: Connection): Transaction {
    const handle = new Transaction(connection, () => Promise.reject(new TransactionError('the transaction is over')), undefined);
    handle.#state = 'rolled back';
    return handle;
  }

  /** Whether the transaction has its connection (a lazily started branch has not, before its first statement). */
  get isStarted(): boolean {
    return this.#driverConnection !== undefined;
  }

  /** Opens a lazily started transaction now (no-op when started). */
  async start(): Promise<DriverConnection> {
    if (this.#driverConnection !== undefined) return this.#driverConnection;
    this.#starting ??= this.#starter!();
    this.#driverConnection = await this.#starting;
    return this.#driverConnection;
  }

  #root(): Transaction {
    return this.parent ? this.parent.#root() : this;
  }

  /** 0 for the outermost transaction, 1 for a savepoint inside it, and so on. */
  get depth(): number {
    return this.parent ? this.parent.depth + 1 : 0;
  }

  get state(): State {
    return this.#state;
  }

  get isActive(): boolean {
    return this.#state === 'active' && (this.parent ? this.parent.isActive : this.#lost === undefined);
  }

  /** @internal The server rolled the whole transaction back under a savepoint while its callback still runs: its statements fail. */
  get isLost(): boolean {
    const root = this.#root();
    return root.#lost !== undefined && root.#state === 'active';
  }

  /** The driver connection the transaction holds. Throws once the transaction has finished. */
  get driverConnection(): DriverConnection {
    if (!this.isActive) throw this.#root().#lost ?? new TransactionError(`the transaction on "${this.connection.name}" has already ${this.#state === 'active' ? 'finished' : this.#state}; a query cannot join it`);
    if (this.#driverConnection === undefined) throw new TransactionError(`the transaction on "${this.connection.name}" has not started yet; run a model query in it first`);
    return this.#driverConnection;
  }

  /** Runs one statement inside the transaction. */
  execute(sql: string, bindings: readonly unknown[], options: ExecOptions): Promise<ExecResult> {
    if (this.#driverConnection === undefined && this.#starter && this.isActive) {
      return this.start().then(() => this.execute(sql, bindings, options));
    }
    let connection: DriverConnection;
    try {
      connection = this.driverConnection;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.connection.executeOn(connection, sql, bindings, options);
  }

  /** @internal A knex builder run as one statement inside the transaction ({@link Connection.runBuilder} for a held session). */
  async runBuilder(builder: StatementBuilder, options: ExecOptions = RAW): Promise<ExecResult> {
    const { sql, bindings } = nativeStatement(builder);
    return this.execute(sql, bindings, options);
  }

  /** Raw SQL with `?` placeholders, inside the transaction. Resolves with the rows. */
  async query<Row = Record<string, unknown>>(sql: string, bindings: readonly unknown[] = []): Promise<Row[]> {
    const codec = this.connection.dialect.codec;
    const encoded = bindings.map((value) => encodeRawBinding(value, codec));
    return (await this.runBuilder(this.connection.knex.raw(sql, encoded as Knex.RawBinding[]))).rows as Row[];
  }

  /** A knex query builder for `table` bound to the transaction's connection. */
  table(table: string): Knex.QueryBuilder {
    return this.connection.knex(table).connection(this.driverConnection);
  }

  /**
   * Runs `callback` once the outermost transaction has committed, before the
   * transaction's promise resolves; never if it rolls back. Registering again with
   * the same `key` replaces the earlier callback. A failing callback does not undo or
   * fail the committed transaction: it is reported as a process warning.
   */
  afterCommit(callback: Callback, key: unknown = Symbol('afterCommit')): void {
    this.#afterCommit.set(key, callback);
  }

  /**
   * Runs `callback` if this transaction (or savepoint) rolls back, or an enclosing one
   * does. With a `key` already registered, the earlier callback is kept: it knows the
   * state from before the transaction.
   */
  afterRollback(callback: Callback, key: unknown = Symbol('afterRollback')): void {
    if (!this.#afterRollback.has(key)) this.#afterRollback.set(key, callback);
  }

  /** @internal Runs `fn` inside a savepoint of this transaction. */
  savepoint<T>(fn: (trx: Transaction) => Promise<T> | T): Promise<T> {
    const run = this.#savepointQueue.then(() => this.#runSavepoint(fn));
    this.#savepointQueue = run.catch(() => undefined);
    return run;
  }

  async #runSavepoint<T>(fn: (trx: Transaction) => Promise<T> | T): Promise<T> {
    const name = `polyrecord_sp_${this.depth + 1}_${++this.#savepoints}`;
    await this.execute(`SAVEPOINT ${name}`, [], RAW);
    const child = new Transaction(this.connection, this.#driverConnection!, this);
    let result: T;
    try {
      result = await runInFrame({ transaction: { connection: this.connection.name, handle: child } }, () => fn(child));
    } catch (error) {
      if (this.isActive) {
        try {
          await this.execute(`ROLLBACK TO SAVEPOINT ${name}`, [], RAW);
        } catch (rollbackError) {
          // The savepoint is gone with the whole transaction: MySQL/MariaDB roll everything back on a
          // deadlock. The statement's own error is the one to report; the transaction takes no more
          // statements (they would run outside it) and cannot commit.
          this.#root().#lost = new TransactionError(`the server rolled the whole transaction on "${this.connection.name}" back inside a savepoint (${error instanceof Error ? error.message : String(error)}); run the transaction again`, { cause: rollbackError });
        }
      }
      await child.#finish('rolled back');
      throw error;
    }
    await this.execute(`RELEASE SAVEPOINT ${name}`, [], RAW);
    await child.#finish('committed');
    return result;
  }

  /** @internal Ends a transaction whose COMMIT/ROLLBACK someone else sent (a cross-database branch): runs its callbacks. */
  settle(state: Exclude<State, 'active'>): Promise<void> {
    return this.#finish(state);
  }

  /** @internal Marks the end; a released savepoint hands its callbacks to its parent. */
  async #finish(state: Exclude<State, 'active'>): Promise<void> {
    this.#state = state;
    const commit = this.#afterCommit;
    const rollback = this.#afterRollback;
    this.#afterCommit = new Map();
    this.#afterRollback = new Map();
    const parent = this.parent;
    if (state === 'committed' && parent) {
      for (const [key, callback] of commit) parent.#afterCommit.set(key, callback);
      for (const [key, callback] of rollback) parent.afterRollback(callback, key);
    } else if (state === 'committed') {
      await runCallbacks(commit, 'afterCommit');
    } else {
      await runCallbacks(rollback, 'afterRollback');
    }
  }

  /** @internal Opens a transaction on `connection` and runs `fn` in it. */
  static async begin<T>(connection: Connection, fn: (trx: Transaction) => Promise<T> | T): Promise<T> {
    const driverConnection = await connection.acquire();
    try {
      await connection.executeOn(driverConnection, connection.dialect.beginStatement, []);
    } catch (error) {
      connection.release(driverConnection);
      throw error;
    }
    const trx = new Transaction(connection, driverConnection, undefined);
    let result: T;
    let committing = false;
    try {
      result = await connection.whileHeld(() => runInFrame({ transaction: { connection: connection.name, handle: trx } }, async () => fn(trx)));
      if (trx.#lost) throw trx.#lost;
      committing = true;
      await connection.executeOn(driverConnection, 'COMMIT', []);
    } catch (error) {
      // A COMMIT that failed may still have committed (the answer was lost): such a transaction is never run again.
      if (committing) markCommitUncertain(error);
      // A failed COMMIT leaves nothing to roll back on most servers; ROLLBACK errors must not hide the cause.
      await connection.executeOn(driverConnection, 'ROLLBACK', []).catch(() => undefined);
      connection.release(driverConnection);
      await trx.#finish('rolled back');
      throw error;
    }
    connection.release(driverConnection);
    await trx.#finish('committed');
    return result;
  }
}

/**
 * Runs `fn` in a transaction on `connection`: a new one, or a savepoint of the
 * transaction already open on that connection in the current async scope.
 */
export function runTransaction<T>(connection: Connection, fn: (trx: Transaction) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
  let retry: RetryPolicy | undefined;
  try {
    retry = transactionRetry(options);
  } catch (error) {
    return Promise.reject(error);
  }
  const open = currentTransaction(connection);
  // A savepoint does not retry: the deadlock or serialization failure ended the outer transaction too.
  return open ? open.savepoint(fn) : runRetried(retry, () => Transaction.begin(connection, fn));
}

/**
 * The innermost transaction still open on `connection` in the current async scope, if
 * any. Matched by the connection itself, not only its name: two managers may each have a
 * connection called `main`, and a model of one must never join the other's transaction.
 */
export function currentTransaction(connection: Connection): Transaction | undefined {
  return scopedTransaction<Transaction>(currentFrame(), connection.name, (trx) => (trx.isActive || trx.isLost) && trx.connection === connection);
}

async function runCallbacks(callbacks: Map<unknown, Callback>, kind: string): Promise<void> {
  for (const callback of callbacks.values()) {
    try {
      await callback();
    } catch (error) {
      // The outcome is settled: a failing callback must not turn it into an error, but it must be seen.
      process.emitWarning(`polyrecord ${kind} callback failed: ${error instanceof Error ? error.stack : String(error)}`, 'PolyrecordWarning');
    }
  }
}
