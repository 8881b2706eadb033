import { AsyncLocalStorage } from 'node:async_hooks';
import type { ReadScope } from './read-scope.js';

/**
 * The async scope: a chain of frames, innermost first. A frame switches one model
 * to a connection (`Model.usingConnection`), remaps connection names for every
 * model (`ConnectionManager.withConnections`), or carries an open transaction.
 * Frames are immutable, so concurrent scopes never see each other's frames.
 */
export interface ScopeFrame {
  readonly parent: ScopeFrame | undefined;
  /** `Model.usingConnection`: this model class uses `connection`. */
  readonly model?: Function;
  readonly connection?: string;
  /** `withConnections`: connection name → replacement name. */
  readonly remap?: ReadonlyMap<string, string>;
  /** An open transaction, keyed by the canonical connection name it runs on. */
  readonly transaction?: { readonly connection: string; readonly handle: unknown };
  /** A cross-database transaction: hands out (and enlists on first use) its branch for a connection. */
  readonly branches?: { branch(connection: string): unknown };
  /** `usingPrimary`: every read in scope goes to the primary, none to a replica. */
  readonly primary?: true;
  /** `withReadAfter`: the writes made in scope and the positions its reads must see (read replicas). */
  readonly reads?: ReadScope;
}

const storage = new AsyncLocalStorage<ScopeFrame>();

/** The innermost frame of the current async scope, if any. */
export function currentFrame(): ScopeFrame | undefined {
  return storage.getStore();
}

/** Runs `fn` with `frame` (whose parent must be the current frame) pushed on the scope. */
export function runInFrame<T>(frame: Omit<ScopeFrame, 'parent'>, fn: () => T): T {
  return storage.run({ ...frame, parent: storage.getStore() }, fn);
}

/**
 * The connection name the scope assigns to `model` (whose own connection is
 * `declared`): the innermost frame that switches this class or remaps its
 * connection wins. Undefined when no frame applies.
 */
export function scopedConnection(frame: ScopeFrame | undefined, model: Function, declared: string): string | undefined {
  for (let f = frame; f; f = f.parent) {
    if (f.model === model) return f.connection;
    const mapped = f.remap?.get(declared);
    if (mapped !== undefined) return mapped;
  }
  return undefined;
}

/** The innermost transaction on the canonical connection `name` that `live` accepts (finished ones are skipped). */
export function scopedTransaction<T>(frame: ScopeFrame | undefined, name: string, live: (handle: T) => boolean): T | undefined {
  for (let f = frame; f; f = f.parent) {
    if (f.transaction?.connection === name && live(f.transaction.handle as T)) return f.transaction.handle as T;
    // A cross-database transaction answers for every connection, even once it is over (then with a finished
    // handle that refuses statements): a callback outliving it must not fall through to autocommit.
    const branch = f.branches?.branch(name) as T | undefined;
    if (branch !== undefined) return branch;
  }
  return undefined;
}

/** Whether a `usingPrimary` frame is in scope. */
export function primaryForced(frame: ScopeFrame | undefined): boolean {
  for (let f = frame; f; f = f.parent) if (f.primary) return true;
  return false;
}

/** The innermost read-your-writes scope (`withReadAfter`), if any. */
export function scopedReads(frame: ScopeFrame | undefined): ReadScope | undefined {
  for (let f = frame; f; f = f.parent) if (f.reads !== undefined) return f.reads;
  return undefined;
}
