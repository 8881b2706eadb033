import type { ConfiguredSaga, SagaDefinition } from '../config/define-config.js';
import type { SagaLog, SagaRunRecord, SagaRunStatus } from '../transaction/saga-log.js';
import type { SagaResumeOptions } from '../transaction/saga-options.js';
import type { SagaResumeSummary } from '../transaction/saga-resume.js';
import { nameList, OperationInputError } from './ops-errors.js';
import { opsScope, type OpsOptions, type OpsScope } from './ops-options.js';

/** Every status a saga run can have, for checking a filter. */
export const SAGA_RUN_STATUSES: readonly SagaRunStatus[] = ['running', 'compensating', 'completed', 'compensated', 'failed'];

/**
 * Runs recorded in the logs of the config's sagas, most recently updated first: of every
 * status, or only `status`; at most `limit` (default 100). A `TableSagaLog` lists every run
 * its table holds, of any saga; a log without `runs()` lists the unfinished runs of the
 * configured sagas that use it.
 *
 * @example
 * ```ts
 * const stuck = await sagaRuns({ status: 'failed' })
 * for (const run of stuck) console.log(run.sagaName, run.runId, run.currentStep, run.error)
 * ```
 * @throws {OperationInputError} for an unknown status.
 */
export async function sagaRuns(options: OpsOptions & { status?: SagaRunStatus; limit?: number } = {}): Promise<SagaRunRecord[]> {
  const { status, limit = 100 } = options;
  if (status !== undefined && !SAGA_RUN_STATUSES.includes(status)) throw new OperationInputError('status', `unknown saga run status ${JSON.stringify(status)}; known: ${nameList(SAGA_RUN_STATUSES)}`, SAGA_RUN_STATUSES);
  if (!Number.isInteger(limit) || limit < 1) throw new OperationInputError('limit', `limit must be a whole number of 1 or more, got ${String(limit)}`);
  const runs = new Map<string, SagaRunRecord>();
  for (const { log, sagaNames } of logsOf(configuredSagas(opsScope(options)))) {
    const found = log.runs ? await log.runs({ status, limit }) : (await Promise.all(sagaNames.map((name) => log.unfinished(name)))).flat().filter((run) => status === undefined || run.status === status);
    for (const run of found) runs.set(run.runId, run);
  }
  return [...runs.values()].sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime()).slice(0, limit);
}

/**
 * Resumes the unfinished runs of the config's saga `name` whose process is gone (see
 * `Saga.resume`): compensates them, or finishes them with `onResume: 'finish'`.
 *
 * @example
 * ```ts
 * const { compensated, failed, skipped } = await resumeSaga('create-user')
 * ```
 * @throws {OperationInputError} when the config has no saga of that name (the error lists those it has).
 */
export async function resumeSaga(name: string, options: OpsOptions & SagaResumeOptions = {}): Promise<SagaResumeSummary> {
  const scope = opsScope(options);
  const sagas = scope.config.sagas ?? {};
  const definition = Object.hasOwn(sagas, name) ? sagas[name] : undefined;
  if (definition === undefined) throw new OperationInputError('saga', `no saga named "${name}" in the config's sagas; known: ${nameList(Object.keys(sagas))}`, Object.keys(sagas));
  return sagaOf(definition).resume(options.staleMs === undefined ? undefined : { staleMs: options.staleMs });
}

function configuredSagas(scope: OpsScope): ConfiguredSaga[] {
  return Object.values(scope.config.sagas ?? {}).map(sagaOf);
}

function sagaOf(definition: SagaDefinition): ConfiguredSaga {
  return typeof definition === 'function' ? definition() : definition;
}

/** The distinct logs of these sagas, with the sagas using each. Table logs are the same log when they name the same connection and table. */
function logsOf(sagas: readonly ConfiguredSaga[]): { log: SagaLog; sagaNames: string[] }[] {
  const logs = new Map<unknown, { log: SagaLog; sagaNames: string[] }>();
  for (const saga of sagas) {
    const log = saga.log;
    if (!log) continue;
    const { connectionName, table } = log as { connectionName?: unknown; table?: unknown };
    const key = typeof connectionName === 'string' && typeof table === 'string' ? `${connectionName}\u0000${table}` : log;
    const entry = logs.get(key) ?? { log, sagaNames: [] };
    entry.sagaNames.push(saga.name);
    logs.set(key, entry);
  }
  return [...logs.values()];
}
