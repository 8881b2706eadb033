import type { Command } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { resolveJob } from '../../config/config-jobs.js';
import type { LoadedConfig } from '../../config/load-config.js';
import type { SyncJob } from '../../sync/sync-job.js';
import { loadProject, say, sayJson, shellWord, table, wholeNumber } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { formatDuration, formatValue } from '../progress.js';
import { describeResult, runJob } from '../run-job.js';

/** The job the config file names `name`, or a usage error listing the ones it has. */
async function configuredJob({ config, file }: LoadedConfig, name: string): Promise<SyncJob> {
  const known = Object.keys(config.jobs ?? {});
  if (!known.includes(name)) throw new UsageError(`unknown job "${name}": ${known.length === 0 ? `${file} defines no jobs` : `${file} defines ${known.join(', ')}`}`);
  return resolveJob(config, name, file);
}

/** `polyrecord sync run <job>` and `polyrecord sync status [job]`: the config file's SyncJobs. */
export function syncCommand(program: Command, manager: ConnectionManager): void {
  const sync = program.command('sync').description("run and inspect the config file's sync jobs (docs/sync-job.md)");

  sync
    .command('run')
    .description('run a job until nothing is left to sync, batch by batch, resuming from its checkpoint; SIGINT/SIGTERM stop it after the current batch')
    .argument('<job>', 'a job name from the config file')
    .option('--batch-size <n>', "rows per batch for this run (default: the job's batchSize)", wholeNumber(1))
    .option('--dry-run', 'read and map the changed rows and report what would be applied; write nothing')
    .option('--json', 'print the result as JSON (progress goes to stderr)')
    .action(async (name: string, options: { batchSize?: number; dryRun?: boolean; json?: boolean }, command: Command) => {
      const loaded = await loadProject(command, manager);
      const job = await configuredJob(loaded, name);
      const label = `sync ${name}`;
      const result = await runJob(job, { label, resume: `polyrecord sync run ${shellWord(name)}`, batchSize: options.batchSize, dryRun: options.dryRun, json: options.json });
      if (options.json) sayJson({ job: name, ...result });
      else say(describeResult(label, result));
    });

  sync
    .command('status')
    .description('per job: its checkpoint, its lag behind the source (rows changed since, and how much newer), and its last run')
    .argument('[job]', 'only this job')
    .option('--json', 'print as JSON: [{ name, checkpoint, lag: { rows, newestWatermark, milliseconds }, lastRun }]')
    .action(async (name: string | undefined, options: { json?: boolean }, command: Command) => {
      const loaded = await loadProject(command, manager);
      const names = name === undefined ? Object.keys(loaded.config.jobs ?? {}) : [name];
      const statuses = [];
      for (const each of names) statuses.push(await (await configuredJob(loaded, each)).status());
      if (options.json) return sayJson(statuses);
      const rows = table(['job', 'checkpoint (watermark, key)', 'rows synced', 'lag rows', 'lag time', 'last run', 'outcome']);
      for (const { name: job, checkpoint, lag, lastRun } of statuses) {
        rows.push([
          job,
          checkpoint ? `${formatValue(checkpoint.watermark)}, ${formatValue(checkpoint.lastKey)}` : '(none)',
          String(checkpoint?.rowsProcessed ?? 0),
          String(lag.rows),
          lag.milliseconds === undefined ? '' : formatDuration(lag.milliseconds / 1000),
          lastRun ? `${lastRun.startedAt.toISOString()}, ${lastRun.rows} rows` : '(none)',
          lastRun ? `${lastRun.outcome}${lastRun.error ? `: ${lastRun.error}` : ''}` : '',
        ]);
      }
      say(rows.toString());
    });
}
