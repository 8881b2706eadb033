import type { ConnectionStatus } from '../connection/connection.js';
import type { CircuitState } from '../connection/breaker.js';
import type { PoolStats } from '../connection/dialects/dialect.js';
import type { HealthReport } from '../connection/health-report.js';
import type { LimitStats } from '../connection/limiter.js';
import type { ConnectionManager } from '../connection/manager.js';
import type { PolyrecordConfig } from '../config/define-config.js';
import { inDoubtBranches, type InDoubtBranch } from '../ops/in-doubt.js';
import { messageOf } from '../ops/ops-options.js';
import { deadEvents, outboxStats, type DeadEvent, type OutboxStats } from '../ops/outbox.js';
import { sagaRuns } from '../ops/sagas.js';
import { syncCheckpoints, type SyncCheckpointRow } from '../ops/sync-checkpoints.js';
import type { SagaRunStatus } from '../transaction/saga-log.js';

/** One connection or replica as the dashboard shows it. No URL, host or credentials. */
export interface ConnectionView {
  name: string;
  driver: string;
  /** Whether its pool has been opened. */
  open: boolean;
  /** The last background probe; null before the first one has answered. */
  health: Pick<HealthReport, 'ok' | 'latencyMs' | 'error'> | null;
  pool: PoolStats | null;
  circuit: CircuitState;
  limits: LimitStats | null;
  /** Replicas only: the lag last measured (ms), and reads answered. */
  lagMs?: number | null;
  reads?: number;
  replicas: ConnectionView[];
}

/** A saga run that has not finished (running, compensating, or failed while compensating). */
export interface SagaRunView {
  sagaName: string;
  runId: string;
  status: SagaRunStatus;
  currentStep: string | null;
  error: string | null;
  startedAt: Date;
  updatedAt: Date;
}

/** Everything the page shows, as `/api/state` answers it. */
export interface DashboardState {
  generatedAt: Date;
  connections: ConnectionView[];
  outbox: OutboxStats[];
  deadEvents: DeadEvent[];
  inDoubt: InDoubtBranch[];
  syncJobs: SyncCheckpointRow[];
  sagas: SagaRunView[];
  /** Parts that could not be read, by section (`outbox`, `deadEvents`, `inDoubt`, `syncJobs`, `sagas`) or connection. */
  problems: { section: string; error: string }[];
}

const UNFINISHED: readonly SagaRunStatus[] = ['running', 'compensating', 'failed'];

/** Reads everything the dashboard shows; a part that fails is reported in `problems` and the rest still shown. */
export async function dashboardState(manager: ConnectionManager, config: PolyrecordConfig): Promise<DashboardState> {
  const scope = { manager, config };
  const problems: DashboardState['problems'] = [];
  const attempt = async <T>(section: string, empty: T, read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (error) {
      problems.push({ section, error: messageOf(error) });
      return empty;
    }
  };
  const outbox = await attempt('outbox', [], () => outboxStats(scope));
  for (const { connection, error } of outbox) if (error !== undefined) problems.push({ section: `outbox of ${connection}`, error });
  // Per outbox, so one that cannot be read hides only its own dead events.
  const dead = await Promise.all(outbox.filter((entry) => entry.error === undefined).map((entry) => attempt(`dead events of ${entry.connection}`, [], () => deadEvents({ ...scope, connection: entry.connection }))));
  const inDoubt = await attempt('inDoubt', { branches: [], unreachable: [] }, () => inDoubtBranches(scope));
  for (const { connection, error } of inDoubt.unreachable) problems.push({ section: `prepared branches of ${connection}`, error });
  const sync = await attempt('syncJobs', { checkpoints: [], unreachable: [] }, () => syncCheckpoints(scope));
  for (const { connection, error } of sync.unreachable) problems.push({ section: `sync state of ${connection}`, error });
  const sagas = await attempt('sagas', [], async () => (await Promise.all(UNFINISHED.map((status) => sagaRuns({ ...scope, status })))).flat());
  return {
    generatedAt: new Date(),
    connections: manager.status().map(connectionView),
    outbox,
    deadEvents: dead.flat().sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()),
    inDoubt: inDoubt.branches,
    syncJobs: sync.checkpoints,
    sagas: sagas.map(({ sagaName, runId, status, currentStep, error, createdAt, updatedAt }) => ({ sagaName, runId, status, currentStep, error, startedAt: createdAt, updatedAt })),
    problems,
  };
}

function connectionView(status: ConnectionStatus & { replica?: { lagMs: number | null | undefined; reads: number } }): ConnectionView {
  const { health } = status;
  return {
    name: status.name,
    driver: status.driver,
    open: status.open,
    health: health ? { ok: health.ok, latencyMs: health.latencyMs, ...(health.error === undefined ? {} : { error: health.error }) } : null,
    pool: status.pool ?? null,
    circuit: status.circuit,
    limits: status.limits ?? null,
    ...(status.replica ? { lagMs: status.replica.lagMs ?? null, reads: status.replica.reads } : {}),
    replicas: (status.replicas ?? []).map(connectionView),
  };
}
