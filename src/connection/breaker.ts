import { CircuitOpenError } from '../errors.js';

/** When a connection's breaker opens and how long it stays open (the `breaker` connection option). */
export interface BreakerSettings {
  /** Connection-level failures (a lost session, a refused or timed-out connect) within `windowMs` that open it. Default 5. */
  readonly failureThreshold: number;
  /** The window failures are counted in, in ms. Default 10,000. */
  readonly windowMs: number;
  /** How long it stays open before one call may probe the database again, in ms. Default 5,000. */
  readonly cooldownMs: number;
}

export const DEFAULT_BREAKER: BreakerSettings = Object.freeze({ failureThreshold: 5, windowMs: 10_000, cooldownMs: 5_000 });

/** `closed`: calls go through; `open`: they fail at once; `halfOpen`: one probe goes through, the rest fail at once. */
export type CircuitState = 'closed' | 'open' | 'halfOpen';

/** What a manager's `circuit:open`, `circuit:halfOpen` and `circuit:closed` events carry. */
export interface CircuitEvent {
  readonly connection: string;
  readonly state: CircuitState;
  /** Connection-level failures counted in the window when it opened (0 otherwise). */
  readonly failures: number;
  /** While open: ms until a probe may go through. */
  readonly retryInMs: number;
}

/**
 * One connection's circuit breaker. Only connection-level failures count (what the caller
 * reports as such: a lost session, a failed connect); a statement the database refused
 * (a unique violation, a syntax error) is an answer, so it counts as success.
 */
export class CircuitBreaker {
  readonly #settings: BreakerSettings;
  readonly #connection: string;
  readonly #onChange: (event: CircuitEvent) => void;
  #state: CircuitState = 'closed';
  #failures: number[] = [];
  #openedAt = 0;
  #probing = false;

  constructor(connection: string, settings: BreakerSettings, onChange: (event: CircuitEvent) => void) {
    this.#connection = connection;
    this.#settings = settings;
    this.#onChange = onChange;
  }

  get state(): CircuitState {
    return this.#state;
  }

  /** Whether {@link admit} would let a call through now (closed, or its cool-down is over and no probe is out). */
  get admits(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#probing) return false;
    return this.#state === 'halfOpen' || Date.now() >= this.#openedAt + this.#settings.cooldownMs;
  }

  /** Lets a call through, or throws {@link CircuitOpenError} at once. In half-open state the first call through is the probe. */
  admit(): void {
    if (this.#state === 'closed') return;
    const retryInMs = this.#openedAt + this.#settings.cooldownMs - Date.now();
    if (this.#state === 'open' && retryInMs <= 0) {
      this.#change('halfOpen', 0, 0);
    }
    if (this.#state === 'halfOpen' && !this.#probing) {
      this.#probing = true;
      return;
    }
    throw new CircuitOpenError(this.#connection, Math.max(0, retryInMs), this.#settings.cooldownMs);
  }

  /** A call reached the database (whatever it answered). */
  succeeded(): void {
    if (this.#state === 'closed') return;
    this.#probing = false;
    this.#failures = [];
    this.#change('closed', 0, 0);
  }

  /** A call could not reach the database, or lost its session. */
  failed(): void {
    const now = Date.now();
    if (this.#state !== 'closed') {
      // The probe failed (or a call admitted before the breaker opened): open again for a full cool-down.
      this.#probing = false;
      this.#openedAt = now;
      if (this.#state === 'halfOpen') this.#change('open', this.#failures.length, this.#settings.cooldownMs);
      return;
    }
    const since = now - this.#settings.windowMs;
    this.#failures = this.#failures.filter((at) => at > since);
    this.#failures.push(now);
    if (this.#failures.length >= this.#settings.failureThreshold) {
      this.#openedAt = now;
      this.#change('open', this.#failures.length, this.#settings.cooldownMs);
    }
  }

  #change(state: CircuitState, failures: number, retryInMs: number): void {
    this.#state = state;
    this.#onChange({ connection: this.#connection, state, failures, retryInMs });
  }
}
