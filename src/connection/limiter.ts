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

  constructor(connection: string, limits: ConnectionLimits) {
    this.#connection = connection;
    this.#limits = limits;
  }

  stats(): LimitStats {
    return { active: this.#active, queued: this.#waiting.length, rejected: this.#rejected };
  }

  /** Counts an answer refused for its size. */
  refuseRows(rows: number): LimitExceededError {
    this.#rejected++;
    const max = this.#limits.maxRows!;
    return new LimitExceededError(this.#connection, 'maxRows', max, `a statement answered ${rows} rows, more than the ${max} allowed; add a limit or read it in batches`);
  }

  /** The lender, behind this gate. */
  wrap(lender: ConnectionLender): ConnectionLender {
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
      stats: (): PoolStats => lender.stats(),
      ...(lender.whileHeld ? { whileHeld: lender.whileHeld.bind(lender) } : {}),
      ...(lender.drain ? { drain: lender.drain.bind(lender) } : {}),
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
    if (maxQueued !== undefined && this.#waiting.length >= maxQueued) {
      this.#rejected++;
      return Promise.reject(new LimitExceededError(this.#connection, 'maxQueued', maxQueued, `${this.#waiting.length} callers already wait for a session`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      if (queueTimeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          const at = this.#waiting.indexOf(waiter);
          if (at < 0) return;
          this.#waiting.splice(at, 1);
          this.#rejected++;
          reject(new LimitExceededError(this.#connection, 'queueTimeoutMs', queueTimeoutMs, `no session became free within ${queueTimeoutMs} ms`));
        }, queueTimeoutMs);
      }
      this.#waiting.push(waiter);
    });
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
