import { ConnectionManager } from '../connection/manager.js';
import { SagaDefinitionError } from './saga-errors.js';
import { isSagaLog, type SagaLog } from './saga-log.js';
import { DEFAULT_SAGA_RETRY, type SagaRetryPolicy } from './saga-retry.js';
import { resolveRetryPolicy } from '../util/retry.js';
import { TableSagaLog } from './saga-table-log.js';

/** Options of `new Saga(name, options)`. */
export interface SagaOptions {
  /**
   * Where runs are recorded so `resume()` can finish them after a crash: a connection
   * name (a {@link TableSagaLog} on it, table `polyrecord_saga_log`) or any
   * {@link SagaLog}. Without a log, a run lives only in memory. With one, the input and
   * every step result must be plain JSON data.
   */
  log?: string | SagaLog;
  /** The manager a log given by connection name lives in. Default: `ConnectionManager.default`. */
  manager?: ConnectionManager;
  /** Retry policy of undo steps and log writes (exponential backoff). Default `{ attempts: 5, baseMs: 50, maxMs: 5000 }`. */
  retry?: Partial<SagaRetryPolicy>;
  /**
   * What `resume()` does with a run that was cut off while going forward: `'compensate'`
   * (default) undoes its completed steps; `'finish'` runs its remaining steps (and
   * compensates if one of them fails). Runs cut off while compensating, or failed, are
   * always compensated.
   */
  onResume?: 'finish' | 'compensate';
}

/** Options of `saga.resume()`. */
export interface SagaResumeOptions {
  /**
   * Take over runs owned by a process on another host when their log record has not
   * changed for this many ms (that process cannot be checked from here). Pick more than
   * your longest step. Default: never (they are listed as `skipped`).
   */
  staleMs?: number;
}

/** @internal Validated options. */
export interface ResolvedSagaOptions {
  readonly log: SagaLog | undefined;
  readonly retry: SagaRetryPolicy;
  readonly onResume: 'finish' | 'compensate';
}

const KNOWN = new Set(['log', 'manager', 'retry', 'onResume']);

/** @internal Validates `new Saga()`'s options; a {@link SagaDefinitionError} names the bad one. */
export function resolveSagaOptions(sagaName: string, options: SagaOptions | undefined): ResolvedSagaOptions {
  if (options === undefined) return { log: undefined, retry: DEFAULT_SAGA_RETRY, onResume: 'compensate' };
  const bad = (message: string) => new SagaDefinitionError(sagaName, message);
  if (!options || typeof options !== 'object') throw bad('options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw bad(`unknown option "${key}" (known: ${[...KNOWN].join(', ')})`);
  }
  const { manager, onResume = 'compensate' } = options;
  if (manager !== undefined && !(manager instanceof ConnectionManager)) throw bad('option "manager" must be a ConnectionManager');
  if (onResume !== 'finish' && onResume !== 'compensate') throw bad(`option "onResume" must be 'finish' or 'compensate', got ${JSON.stringify(onResume)}`);
  return { log: resolveLog(sagaName, options.log, manager), retry: resolveRetry(sagaName, options.retry), onResume };
}

function resolveLog(sagaName: string, log: unknown, manager: ConnectionManager | undefined): SagaLog | undefined {
  if (log === undefined) return undefined;
  if (typeof log === 'string' && log !== '') return new TableSagaLog(log, { manager });
  if (isSagaLog(log)) return log;
  throw new SagaDefinitionError(sagaName, 'option "log" must be a connection name or a SagaLog (an object with create, update, claim, unfinished and get methods)');
}

function resolveRetry(sagaName: string, retry: unknown): SagaRetryPolicy {
  if (retry === undefined) return DEFAULT_SAGA_RETRY;
  return resolveRetryPolicy(retry, DEFAULT_SAGA_RETRY, (message) => new SagaDefinitionError(sagaName, message));
}

/** @internal Validates `resume()`'s options. */
export function resolveResumeOptions(sagaName: string, options: SagaResumeOptions | undefined): { staleMs: number | undefined } {
  if (options === undefined) return { staleMs: undefined };
  if (!options || typeof options !== 'object') throw new SagaDefinitionError(sagaName, 'resume() options must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'staleMs') throw new SagaDefinitionError(sagaName, `unknown resume() option "${key}" (known: staleMs)`);
  }
  const { staleMs } = options;
  if (staleMs !== undefined && (typeof staleMs !== 'number' || !Number.isFinite(staleMs) || staleMs < 0)) {
    throw new SagaDefinitionError(sagaName, `resume() option "staleMs" must be a number of ms (0 or more), got ${String(staleMs)}`);
  }
  return { staleMs };
}
