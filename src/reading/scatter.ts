import { performance } from 'node:perf_hooks';
import { CancelScope } from '../connection/dialects/statement-cancel.js';
import { QueryBuilderError, QueryError } from '../errors.js';
import type { ModelMeta } from '../model/metadata.js';
import { ModelQuery } from '../model/query-builder.js';
import type { QueryState } from '../model/query-state.js';
import { resolveTarget } from '../model/target.js';
import { ScatterCancelledError, ScatterError, ScatterTimeoutError } from './reading-errors.js';
import type { PartialScatterOutcome, ScatterEntry, ScatterOptions, ScatterOutcome, ScatterStat } from './scatter-types.js';

/** Once a statement's cancel was answered, how long its session may take to come back before it is closed. */
const CANCEL_GRACE_MS = 2_000;

/** One entry, ready to start. */
interface Plan {
  readonly key: string;
  readonly connection: string | undefined;
  /** The work runs synchronously in this process once started (SQLite): started after the entries that wait on a server. */
  readonly inProcess: boolean;
  start(): Promise<unknown>;
}

/** How one entry ended. */
type Settled = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/**
 * Runs several reads at the same time, each on its own connection's pool, and waits for
 * all of them: the total time is about that of the slowest, not the sum. Each entry is a
 * model query (not awaited: `scatter` runs it) or a function returning a promise.
 *
 * Resolves with each entry's value under its key in `results` and how each went in
 * `stats` (`connection`, `ms`, `rows`, `error`). Without `partial`, the first failure
 * rejects with a {@link ScatterError} (its `cause`, and every entry's `stats`) once the
 * other entries were cancelled or finished; with `partial: true` the failures are only
 * reported in `stats` and missing from `results`. Either way no session is still in use
 * when it settles (a cancelled query's session is given back first).
 *
 * `timeoutMs` bounds each entry from its start: a running query is cancelled on its
 * server (see {@link ScatterTimeoutError}). SQLite runs statements synchronously in this
 * process, so a SQLite query that started always completes: only one still waiting for
 * the connection is cancelled (and never runs).
 *
 * @example
 * ```ts
 * const { results, stats } = await scatter(
 *   {
 *     users: User.using('crm').where({ active: true }),
 *     orders: Order.where('total', '>', 100),
 *     stock: () => Stock.rawQuery('select * from stock where qty < ?', [5]),
 *   },
 *   { timeoutMs: 2_000, partial: true },
 * )
 * results.users // User[] (undefined if it failed: see stats.users.error)
 * stats.orders // { connection: 'shop', ms: 12.4, rows: 31 }
 * ```
 */
export function scatter<E extends Record<string, ScatterEntry>>(entries: E, options: ScatterOptions & { partial: true }): Promise<PartialScatterOutcome<E>>;
export function scatter<E extends Record<string, ScatterEntry>>(entries: E, options?: ScatterOptions): Promise<ScatterOutcome<E>>;
export async function scatter<E extends Record<string, ScatterEntry>>(entries: E, options: ScatterOptions = {}): Promise<PartialScatterOutcome<E>> {
  if (entries === null || typeof entries !== 'object') throw new QueryBuilderError('scatter() takes an object of named entries');
  const { concurrency, timeoutMs, partial } = checkOptions(options);
  const plans = Object.entries(entries).map(([key, entry]) => planEntry(key, entry));
  // Statements that run in this process block it while they run: the others go out first, to run on their servers meanwhile.
  const queue = [...plans.filter((p) => !p.inProcess), ...plans.filter((p) => p.inProcess)];
  const results: Record<string, unknown> = {};
  const stats: Record<string, ScatterStat> = {};
  let failed: { key: string; error: unknown } | undefined;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let sentToServer = false;

  const worker = async () => {
    for (let plan = queue.shift(); plan !== undefined; plan = queue.shift()) {
      if (failed && !partial) {
        stats[plan.key] = { connection: plan.connection, ms: 0, rows: undefined, error: new ScatterCancelledError(plan.key, plan.connection, false, `not started: entry "${failed.key}" failed`) };
        continue;
      }
      // Let the statements already started reach their servers before this one holds the process.
      if (plan.inProcess && sentToServer) await nextTurn();
      sentToServer ||= !plan.inProcess;
      const began = performance.now();
      const outcome = await runEntry(plan, timeoutMs, stopped, () => failed?.key);
      const ms = performance.now() - began;
      if (outcome.ok) {
        results[plan.key] = outcome.value;
        stats[plan.key] = { connection: plan.connection ?? connectionOf(outcome.value), ms, rows: Array.isArray(outcome.value) ? outcome.value.length : undefined };
        continue;
      }
      stats[plan.key] = { connection: plan.connection ?? connectionOf(outcome.error), ms, rows: 0, error: outcome.error };
      if (failed === undefined && !(outcome.error instanceof ScatterCancelledError && !(outcome.error instanceof ScatterTimeoutError))) {
        failed = { key: plan.key, error: outcome.error };
        if (!partial) stop();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency ?? plans.length, plans.length) }, worker));

  // Reported in the order the entries were given, not the order they finished.
  const orderedStats = Object.fromEntries(plans.map((p) => [p.key, stats[p.key]!]));
  if (failed && !partial) throw new ScatterError(failed.key, orderedStats, failed.error);
  const orderedResults = Object.fromEntries(plans.filter((p) => p.key in results).map((p) => [p.key, results[p.key]]));
  return { results: orderedResults, stats: orderedStats } as PartialScatterOutcome<E>;
}

/**
 * Runs one entry in a cancel scope of its own. When its timeout fires or the scatter
 * stops, the scope cancels what the entry runs on its servers and this waits until the
 * entry holds no session any more.
 */
async function runEntry(plan: Plan, timeoutMs: number | undefined, stopped: Promise<void>, failedEntry: () => string | undefined): Promise<Settled> {
  const scope = new CancelScope();
  const settled: Promise<Settled> = scope.run(() => plan.start()).then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
  let timer: NodeJS.Timeout | undefined;
  const interrupted = new Promise<'timeout' | 'stopped'>((resolve) => {
    if (timeoutMs !== undefined) timer = setTimeout(() => resolve('timeout'), timeoutMs);
    void stopped.then(() => resolve('stopped'));
  });
  const first = await Promise.race([settled, interrupted]);
  clearTimeout(timer);
  if (typeof first === 'object') return first;
  await scope.cancel(CANCEL_GRACE_MS);
  // The cancelled statement's own error, when it has come back by now, is the cause.
  const late = await Promise.race([settled, nextTurn()]);
  const cause = late && !late.ok ? late.error : undefined;
  const error =
    first === 'timeout'
      ? new ScatterTimeoutError(plan.key, plan.connection, timeoutMs!, cause)
      : new ScatterCancelledError(plan.key, plan.connection, true, `cancelled: entry "${failedEntry()}" failed`, { cause });
  return { ok: false, error };
}

function planEntry(key: string, entry: ScatterEntry): Plan {
  if (entry instanceof ModelQuery) {
    // The connection the query resolves to now (explicit using(), then the scope, then the model's).
    const { meta, state } = entry as unknown as { meta: ModelMeta; state: QueryState };
    const connection = resolveTarget(meta, state.explicit).connection;
    return { key, connection: connection.name, inProcess: connection.dialect.statementCancel === undefined, start: () => entry.all() };
  }
  if (typeof entry === 'function') {
    return {
      key,
      connection: undefined,
      inProcess: false,
      start() {
        try {
          const value = entry();
          // A query returned unawaited starts here, inside the entry's scope.
          return value instanceof ModelQuery ? value.all() : Promise.resolve(value);
        } catch (error) {
          return Promise.reject(error);
        }
      },
    };
  }
  throw new QueryBuilderError(`scatter() entry "${key}" must be a model query or a function returning a promise (a promise already started cannot be cancelled)`);
}

function checkOptions(options: ScatterOptions): ScatterOptions {
  const { concurrency, timeoutMs, partial } = options;
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) throw new QueryBuilderError(`scatter() concurrency must be an integer of at least 1, got ${String(concurrency)}`);
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new QueryBuilderError(`scatter() timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`);
  if (partial !== undefined && typeof partial !== 'boolean') throw new QueryBuilderError('scatter() partial must be a boolean');
  return options;
}

/** The connection a function entry's records were read from, or its QueryError names. */
function connectionOf(outcome: unknown): string | undefined {
  if (outcome instanceof QueryError) return outcome.connection;
  const first: unknown = Array.isArray(outcome) ? outcome[0] : undefined;
  const name = first !== null && typeof first === 'object' ? (first as { connectionName?: unknown }).connectionName : undefined;
  return typeof name === 'string' ? name : undefined;
}

function nextTurn(): Promise<undefined> {
  return new Promise((resolve) => setImmediate(() => resolve(undefined)));
}
