/** What a read-your-writes scope knows about one connection with replicas. */
interface ConnectionReads {
  /** The connection's write number of the last write in scope not yet covered by a known position; 0 when none. */
  pending: number;
  /** When that write finished (`performance.now()`), for the `stickyMs` fallback. */
  pendingAt: number;
  /** The position every read in scope must see: from a token, or read from the primary after a write. */
  floor: string | undefined;
}

/** What reads on one connection in a scope have to wait for. */
export interface ReadRequirement {
  /** The latest write in scope whose position is not known yet (its write number), or 0. */
  readonly pending: number;
  readonly pendingAt: number;
  /** Positions the reads must see, from this scope and the scopes around it. */
  readonly floors: readonly string[];
}

/**
 * One read-your-writes scope: the writes made in it, per connection, and the positions its
 * reads must see. Scopes nest (`withReadAfter` inside another): a write counts for every
 * scope around it too, since they go on after the inner one returns.
 */
export class ReadScope {
  readonly #parent: ReadScope | undefined;
  readonly #connections = new Map<string, ConnectionReads>();

  constructor(parent: ReadScope | undefined, floors: ReadonlyMap<string, string> = new Map()) {
    this.#parent = parent;
    for (const [connection, floor] of floors) this.#connections.set(connection, { pending: 0, pendingAt: 0, floor });
  }

  #state(connection: string): ConnectionReads {
    let state = this.#connections.get(connection);
    if (state === undefined) this.#connections.set(connection, (state = { pending: 0, pendingAt: 0, floor: undefined }));
    return state;
  }

  /** A write on `connection` finished: it was the connection's `writeNumber`-th. */
  noteWrite(connection: string, writeNumber: number, at: number): void {
    for (let scope: ReadScope | undefined = this; scope; scope = scope.#parent) {
      const state = scope.#state(connection);
      state.pending = writeNumber;
      state.pendingAt = at;
    }
  }

  /** What reads on `connection` must see, from this scope and every scope around it. */
  requirement(connection: string): ReadRequirement | undefined {
    let pending = 0;
    let pendingAt = 0;
    const floors: string[] = [];
    for (let scope: ReadScope | undefined = this; scope; scope = scope.#parent) {
      const state = scope.#connections.get(connection);
      if (state === undefined) continue;
      if (state.pending > pending) [pending, pendingAt] = [state.pending, state.pendingAt];
      if (state.floor !== undefined) floors.push(state.floor);
    }
    return pending === 0 && floors.length === 0 ? undefined : { pending, pendingAt, floors };
  }

  /**
   * The primary was at `position` after its `writeNumber`-th write (`undefined`: it cannot say,
   * the timer decides): every scope whose pending writes that covers raises its floor to it.
   */
  settle(connection: string, writeNumber: number, position: string | undefined, later: (a: string, b: string) => string): void {
    for (let scope: ReadScope | undefined = this; scope; scope = scope.#parent) {
      const state = scope.#connections.get(connection);
      if (state === undefined || state.pending === 0 || state.pending > writeNumber) continue;
      state.pending = 0;
      if (position !== undefined) state.floor = state.floor === undefined ? position : later(state.floor, position);
    }
  }
}
