import { type Command, Option } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { resumeSaga, sagaRuns, SAGA_RUN_STATUSES } from '../../ops/sagas.js';
import type { SagaRunStatus } from '../../transaction/saga-log.js';
import { cell, loadProject, say, sayJson, table, wholeNumber } from '../context.js';

/** `polyrecord saga list|resume`: the runs of the config's sagas. */
export function sagaCommand(program: Command, manager: ConnectionManager): void {
  const saga = program.command('saga').description("the runs of the config's sagas: list them, resume the unfinished ones");

  saga
    .command('list')
    .description("runs recorded in the sagas' logs, most recently updated first")
    .addOption(new Option('--status <status>', 'only runs with this status').choices(SAGA_RUN_STATUSES))
    .option('--limit <n>', 'at most n runs (default 100)', wholeNumber(1))
    .option('--json', 'print as JSON: [{ runId, sagaName, status, input, results, currentStep, error, owner, createdAt, updatedAt }]')
    .action(async (options: { status?: SagaRunStatus; limit?: number; json?: boolean }, command: Command) => {
      await loadProject(command, manager);
      const runs = await sagaRuns({ manager, status: options.status, limit: options.limit });
      if (options.json) return sayJson(runs);
      if (runs.length === 0) return say('no saga runs');
      const rows = table(['saga', 'run', 'status', 'step', 'updated', 'owner', 'error']);
      for (const r of runs) rows.push([r.sagaName, r.runId, r.status, r.currentStep ?? '', r.updatedAt.toISOString(), `${r.owner.host}:${r.owner.pid}`, cell(r.error, 50)]);
      say(rows.toString());
    });

  saga
    .command('resume')
    .description('resume the unfinished runs of a saga whose process is gone: compensate them (or finish them, with onResume: finish); exit 1 when one could not be compensated')
    .argument('<name>', 'the saga, as named in the config')
    .option('--stale-ms <ms>', "also take over runs of processes on other hosts whose record has not changed for this long", wholeNumber(0))
    .option('--json', 'print as JSON: { completed, compensated, failed, skipped } (run ids)')
    .action(async (name: string, options: { staleMs?: number; json?: boolean }, command: Command) => {
      await loadProject(command, manager);
      const summary = await resumeSaga(name, { manager, staleMs: options.staleMs });
      if (options.json) sayJson(summary);
      else for (const [what, ids] of Object.entries(summary)) say(`${what}: ${ids.length === 0 ? 'none' : ids.join(', ')}`);
      if (summary.failed.length > 0) throw new Error(`${summary.failed.length} run(s) of saga "${name}" could not be compensated; they stay failed for a later resume`);
    });
}
