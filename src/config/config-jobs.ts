import { SyncJob } from '../sync/sync-job.js';
import { ConfigFileError } from './config-errors.js';
import type { PolyrecordConfig } from './define-config.js';

/**
 * Checks the config file's `jobs` when it loads: an object whose every value is a
 * {@link SyncJob} or a function that makes one (what the function returns is checked when it
 * is called, by {@link resolveJob}).
 *
 * @throws {ConfigFileError} naming the field (`jobs`, `jobs.<name>`) and the file.
 */
export function checkJobs(config: PolyrecordConfig, file: string): void {
  const { jobs } = config;
  if (jobs === undefined) return;
  if (typeof jobs !== 'object' || jobs === null || Array.isArray(jobs)) throw new ConfigFileError(`config file ${file}: jobs must be an object of job name → SyncJob or () => SyncJob`, { file, field: 'jobs' });
  for (const [name, job] of Object.entries(jobs)) {
    if (!(job instanceof SyncJob) && typeof job !== 'function') throw new ConfigFileError(`config file ${file}: jobs.${name} must be a SyncJob or a function returning one (got ${describe(job)})`, { file, field: `jobs.${name}` });
  }
}

/**
 * The SyncJob configured as `jobs[name]`: the job itself, or what its function returns.
 *
 * @throws {ConfigFileError} naming `jobs.<name>` when the function fails or returns something else.
 */
export async function resolveJob(config: PolyrecordConfig, name: string, file: string): Promise<SyncJob> {
  const entry = config.jobs?.[name];
  if (entry instanceof SyncJob) return entry;
  let made: unknown;
  try {
    made = await (entry as () => unknown)();
  } catch (error) {
    throw new ConfigFileError(`config file ${file}: jobs.${name}() failed: ${(error as Error)?.message ?? String(error)}`, { file, field: `jobs.${name}`, cause: error });
  }
  if (!(made instanceof SyncJob)) throw new ConfigFileError(`config file ${file}: jobs.${name}() must return a SyncJob (got ${describe(made)})`, { file, field: `jobs.${name}` });
  return made;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value === 'string' ? JSON.stringify(value) : `${typeof value} ${String(value)}`;
}
