import { LimitExceededError } from '../errors.js';
import type { ConnectionLimits } from './config.js';
import type { ConnectionLender, DriverConnection, PoolStats } from './dialects/dialect.js';

/** What a limited connection's gate has done so far. */
export interface LimitStats {
  /** Sessions lent out through the gate now. */
  readonly active: number;
  /** Callers waiting at the gate now. */
  readonly queued: number;
  /** Callers refused so far (a full queue or a wait that timed out), and answers over `maxRows`. */
  readonly rejected: number;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * A gate in front of a connection's lender: at most `maxConcurrent` sessions out, at most
 * `maxQueued` callers waiting (first come, first served), none waiting longer than
 * `queueTimeoutMs`. A session given back lets the next waiter through.
 */
export class LimitGate {
  readonly #connection: string;
  readonly #limits: ConnectionLimits;
  readonly #waiting: Waiter[] = [];
  #active = 0;
  #rejected = 0;
  #bounding: ConnectionLender | undefined;

  constructor(connection: string, limits: ConnectionLimits) {
    this.#connection = connection;
    this.#limits = limits;
  }

  stats(): LimitStats {
    // Over a single-session adapter the queue is the adapter's own.
    const own = this.#bounding?.stats();
    return own ? { active: own.used, queued: own.pending, rejected: this.#rejected } : { active: this.#active, queued: this.#waiting.length, rejected: this.#rejected };
  }

  /** Counts an answer refused for its size. */
  refuseRows(rows: number): LimitExceededError {
    this.#rejected++;
    const max = this.#limits.maxRows!;
    return new LimitExceededError(this.#connection, 'maxRows', max, `a statement answered ${rows} rows, more than the ${max} allowed; add a limit or read it in batches`);
  }

  /**
   * The lender behind this gate. Where the adapter lends one session to one caller at a time
   * (`singleSession`, SQLite) it already keeps the queue, and fails an acquire from a scope
   * that holds the session at once: the gate then only bounds that queue (see {@link #bounded}).
   */
  wrap(lender: ConnectionLender, singleSession: boolean): ConnectionLender {
    return singleSession ? this.#bounded(lender) : this.#gated(lender);
  }

  /** `maxQueued` and `queueTimeoutMs` over the lender's own queue; an acquire that gave up gives back the session it gets later. */
  #bounded(lender: ConnectionLender): ConnectionLender {
    this.#bounding = lender;
    const { maxQueued, queueTimeoutMs } = this.#limits;
    return {
      ...passedThrough(lender),
      tryAcquire: () => lender.tryAcquire(),
      release: (connection) => lender.release(connection),
      acquire: () => {
        // A free session is lent at once: only a caller who would wait counts against the queue.
        const { used, pending } = lender.stats();
        if (maxQueued !== undefined && used > 0 && pending >= maxQueued) return Promise.reject(this.#queueFull(maxQueued, pending));
        const acquiring = lender.acquire();
        if (queueTimeoutMs === undefined) return acquiring;
        return new Promise<DriverConnection>((resolve, reject) => {
          let late = false;
          const timer = setTimeout(() => {
            late = true;
            reject(this.#waitedTooLong(queueTimeoutMs));
          }, queueTimeoutMs);
          acquiring.then(
            (connection) => {
              clearTimeout(timer);
              if (late) lender.release(connection);
              else resolve(connection);
            },
            (error: unknown) => {
              clearTimeout(timer);
              reject(error);
            },
          );
        });
      },
    };
  }

  #gated(lender: ConnectionLender): ConnectionLender {
    return {
      tryAcquire: () => {
        if (!this.#tryEnter()) return undefined;
        let session: DriverConnection | undefined;
        try {
          session = lender.tryAcquire();
        } finally {
          if (session === undefined) this.#leave();
        }
        return session;
      },
      acquire: async () => {
        await this.#enter();
        try {
          return await lender.acquire();
        } catch (error) {
          this.#leave();
          throw error;
        }
      },
      release: (connection) => {
        lender.release(connection);
        this.#leave();
      },
      ...passedThrough(lender),
    };
  }

  #tryEnter(): boolean {
    const max = this.#limits.maxConcurrent;
    if (this.#waiting.length > 0 || (max !== undefined && this.#active >= max)) return false;
    this.#active++;
    return true;
  }

  #enter(): Promise<void> {
    if (this.#tryEnter()) return Promise.resolve();
    const { maxQueued, queueTimeoutMs } = this.#limits;
    if (maxQueued !== undefined && this.#waiting.length >= maxQueued) return Promise.reject(this.#queueFull(maxQueued, this.#waiting.length));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      if (queueTimeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          const at = this.#waiting.indexOf(waiter);
          if (at < 0) return;
          this.#waiting.splice(at, 1);
          reject(this.#waitedTooLong(queueTimeoutMs));
        }, queueTimeoutMs);
      }
      this.#waiting.push(waiter);
    });
  }

  #queueFull(maxQueued: number, waiting: number): LimitExceededError {
    this.#rejected++;
    return new LimitExceededError(this.#connection, 'maxQueued', maxQueued, `${waiting} callers already wait for a session`);
  }

  #waitedTooLong(queueTimeoutMs: number): LimitExceededError {
    this.#rejected++;
    return new LimitExceededError(this.#connection, 'queueTimeoutMs', queueTimeoutMs, `no session became free within ${queueTimeoutMs} ms`);
  }

  #leave(): void {
    const next = this.#waiting.shift();
    if (next === undefined) {
      this.#active--;
      return;
    }
    // The slot passes straight to the next caller: the active count stays.
    clearTimeout(next.timer);
    next.resolve();
  }
}

/** What a gate leaves to the lender as it is (a class's methods, bound: a spread would lose them). */
function passedThrough(lender: ConnectionLender): Pick<ConnectionLender, 'stats' | 'whileHeld' | 'drain'> {
  return {
    stats: (): PoolStats => lender.stats(),
    ...(lender.whileHeld ? { whileHeld: lender.whileHeld.bind(lender) } : {}),
    ...(lender.drain ? { drain: lender.drain.bind(lender) } : {}),
  };
}
