import type { Knex } from 'knex';
import { inspect } from 'node:util';
import { PolyrecordError, QueryError, QueryTimeoutError } from '../errors.js';
import type { ConnectionSettings, DriverName } from './config.js';
import { driverErrorCode, type DialectAdapter, type DriverConnection, type ExecOptions, type ExecResult, type OpenedDriver } from './dialects/dialect.js';

const RAW: ExecOptions = { prepared: false };

/**
 * One named database connection (a pool, or SQLite's single gated connection).
 * Connects lazily on first use. Obtain it with `ConnectionManager.get(name)`.
 */
export class Connection {
  /** The canonical name (aliases resolve to this). */
  readonly name: string;
  /** Validated settings, password hidden. */
  readonly settings: ConnectionSettings;
  /** The dialect adapter: everything dialect-specific. */
  readonly dialect: DialectAdapter;
  #driver: OpenedDriver | undefined;
  #closed = false;

  constructor(settings: ConnectionSettings, dialect: DialectAdapter) {
    this.name = settings.name;
    this.settings = settings;
    this.dialect = dialect;
  }

  get driver(): DriverName {
    return this.settings.driver;
  }

  /** Whether the pool has been created (first use happened and `close()` has not). */
  get isOpen(): boolean {
    return this.#driver !== undefined;
  }

  /**
   * The knex instance, for queries polyrecord does not model (schema changes, reports).
   * Inside `ConnectionManager.transaction()` use `trx.table()` / `trx.query()` instead,
   * so the statement joins the transaction.
   */
  get knex(): Knex {
    return this.#open().knex;
  }

  #open(): OpenedDriver {
    if (this.#closed) throw new PolyrecordError('E_CONNECTION_CLOSED', `connection "${this.name}" has been closed`);
    return (this.#driver ??= this.dialect.open(this.settings));
  }

  /** Runs one statement (native placeholders) on a pooled connection, outside any transaction. */
  execute(sql: string, bindings: readonly unknown[], options: ExecOptions = RAW): Promise<ExecResult> {
    const { lender } = this.#open();
    const connection = lender.tryAcquire();
    if (connection === undefined) return this.#executeQueued(sql, bindings, options);
    // SQLite's free connection: run synchronously, no queueing.
    let result: ExecResult | Promise<ExecResult>;
    try {
      result = this.dialect.execute(connection, sql, bindings, options);
    } catch (error) {
      lender.release(connection);
      return Promise.reject(this.toQueryError(error, sql));
    }
    if (!(result instanceof Promise)) {
      lender.release(connection);
      return Promise.resolve(result);
    }
    return result.then(
      (value) => {
        lender.release(connection);
        return value;
      },
      (error: unknown) => {
        lender.release(connection);
        throw this.toQueryError(error, sql);
      },
    );
  }

  async #executeQueued(sql: string, bindings: readonly unknown[], options: ExecOptions): Promise<ExecResult> {
    const connection = await this.acquire();
    try {
      return await this.dialect.execute(connection, sql, bindings, options);
    } catch (error) {
      throw this.toQueryError(error, sql);
    } finally {
      this.release(connection);
    }
  }

  /** Runs one statement on a driver connection this caller holds (a transaction's). */
  async executeOn(connection: DriverConnection, sql: string, bindings: readonly unknown[], options: ExecOptions = RAW): Promise<ExecResult> {
    try {
      return await this.dialect.execute(connection, sql, bindings, options);
    } catch (error) {
      throw this.toQueryError(error, sql);
    }
  }

  /** Takes a driver connection out of the pool; give it back with {@link release}. */
  async acquire(): Promise<DriverConnection> {
    try {
      return await this.#open().lender.acquire();
    } catch (error) {
      throw this.toQueryError(error, undefined);
    }
  }

  release(connection: DriverConnection): void {
    this.#driver?.lender.release(connection);
  }

  /** Closes a driver connection and gives it back so the pool replaces it (never lends it again). */
  async discard(connection: DriverConnection): Promise<void> {
    await this.dialect.discard(connection);
    this.release(connection);
  }

  /** Closes every pooled connection. The connection cannot be used afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    const driver = this.#driver;
    this.#driver = undefined;
    await driver?.close();
  }

  /** Wraps a driver error: keeps its code, names this connection, never shows the password. */
  toQueryError(error: unknown, sql: string | undefined): QueryError {
    if (error instanceof QueryError) return error;
    const code = driverErrorCode(error);
    if (this.dialect.isTimeout(error)) return new QueryTimeoutError(this.name, this.settings.queryTimeoutMs, code, sql, error);
    const message = this.settings.redact(error instanceof Error ? error.message : String(error));
    return new QueryError(this.name, message, code, sql, error);
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, driver: this.driver, open: this.isOpen, settings: this.settings.toJSON() };
  }

  toString(): string {
    return `Connection(${this.name}: ${this.driver})`;
  }

  [inspect.custom](): string {
    return `Connection ${inspect(this.toJSON())}`;
  }
}
