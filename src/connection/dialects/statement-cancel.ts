import { AsyncLocalStorage } from 'node:async_hooks';
import type { ConnectionSettings } from '../config.js';
import { PolyrecordError } from '../../errors.js';
import type { DriverConnection } from './driver-connection.js';

/**
 * Cancelling, from outside, the statement a pooled session is running: PostgreSQL's
 * `pg_cancel_backend(pid)`, MySQL/MariaDB's `KILL QUERY <connection id>`. Each runs on a
 * short-lived session of its own, outside the pool, so a pool whose every session is
 * busy with the statements to cancel can still cancel them. Undefined on SQLite, whose
 * statements run synchronously in this process and cannot be interrupted by a timer.
 */
export interface StatementCancel {
  /** Asks the server to cancel whatever `connection` is running now (nothing happens to an idle session). */
  cancelRunning(settings: ConnectionSettings, connection: DriverConnection): Promise<void>;
}

/** What a lender can do to one of its sessions on behalf of a {@link CancelScope}. */
export interface SessionControl {
  /** Cancels the statement the session runs (undefined where statements cannot be cancelled). */
  readonly cancel: ((connection: DriverConnection) => Promise<void>) | undefined;
  /** Closes the session so its pending statement fails at once (the pool drops it when it comes back). */
  readonly discard: (connection: DriverConnection) => Promise<void>;
}

interface HeldSession {
  readonly control: SessionControl;
  /** The cancel sent for it, if any: the session goes back to the pool only after it. */
  cancelling: Promise<void> | undefined;
}

const scopes = new AsyncLocalStorage<CancelScope>();
/** The scope each lent session works for; found at release, whatever async context releases it. */
const holders = new WeakMap<DriverConnection, CancelScope>();

/**
 * A unit of work whose statements can be cancelled together (one `scatter()` entry):
 * work run through {@link run} tells the lenders of the sessions it takes. After
 * {@link cancel}, running statements are cancelled on the server, and work that asks for
 * a session afterwards is refused one (it never starts).
 */
export class CancelScope {
  #cancelled = false;
  readonly #held = new Map<DriverConnection, HeldSession>();
  #idle: Array<() => void> = [];

  /** The scope of the calling async context, if any. */
  static current(): CancelScope | undefined {
    return scopes.getStore();
  }

  /** Runs `fn` (and everything it starts) in this scope. */
  run<T>(fn: () => T): T {
    return scopes.run(this, fn);
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** The error a lender rejects with when asked for a session after the scope was cancelled. */
  refusal(): PolyrecordError {
    return new PolyrecordError('E_STATEMENT_CANCELLED', 'the statement was cancelled before it got a session, so it never ran');
  }

  /**
   * Called by a lender with the session it is about to lend into this scope. Refuses it
   * (returns false: the lender gives it back and rejects) once the scope is cancelled.
   */
  adopt(connection: DriverConnection, control: SessionControl): boolean {
    if (this.#cancelled) return false;
    this.#held.set(connection, { control, cancelling: undefined });
    holders.set(connection, this);
    return true;
  }

  /**
   * Cancels every statement running in the scope's sessions and refuses it new ones.
   * Resolves once the scope holds no session: each was given back after its statement
   * ended and its cancel was answered. A session still held `graceMs` after its cancel
   * (a server that stopped answering) is closed, so its statement fails and it comes back.
   */
  cancel(graceMs: number): Promise<void> {
    this.#cancelled = true;
    for (const [connection, held] of this.#held) {
      if (held.cancelling || !held.control.cancel) continue;
      // A cancel that fails (server gone) changes nothing: the grace timer still closes the session.
      held.cancelling = held.control.cancel(connection).catch(() => undefined);
      void held.cancelling.then(() => delay(graceMs)).then(() => {
        if (this.#held.has(connection)) return held.control.discard(connection).catch(() => undefined);
      });
    }
    if (this.#held.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #forget(connection: DriverConnection): void {
    this.#held.delete(connection);
    if (this.#held.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /**
   * Called by a lender as `connection` comes back, with the function that gives it back
   * to the pool. A session whose statement was cancelled goes back only once the server
   * has answered the cancel, or the cancel could hit the next user's statement; the scope
   * counts it as held until then.
   */
  static release(connection: DriverConnection, giveBack: (connection: DriverConnection) => void): void {
    const scope = holders.get(connection);
    if (scope === undefined) return giveBack(connection);
    holders.delete(connection);
    const cancelling = scope.#held.get(connection)?.cancelling;
    if (cancelling === undefined) {
      giveBack(connection);
      scope.#forget(connection);
      return;
    }
    void cancelling.then(() => {
      giveBack(connection);
      scope.#forget(connection);
    });
  }
}

/**
 * A lender's acquire made scope-aware: inside a {@link CancelScope} the session is
 * adopted by it, or given back at once (and the acquire rejected) if the scope was
 * cancelled while waiting. Outside any scope the acquire is returned untouched.
 */
export function acquireInScope(acquiring: () => Promise<DriverConnection>, control: SessionControl, giveBack: (connection: DriverConnection) => void): Promise<DriverConnection> {
  const scope = CancelScope.current();
  if (scope === undefined) return acquiring();
  if (scope.cancelled) return Promise.reject(scope.refusal());
  return acquiring().then((connection) => {
    if (scope.adopt(connection, control)) return connection;
    giveBack(connection);
    throw scope.refusal();
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
