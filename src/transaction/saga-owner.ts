import { hostname } from 'node:os';

/** The process working on a saga run, as recorded in the saga log. */
export interface SagaOwner {
  readonly host: string;
  readonly pid: number;
}

// Runs this process is executing right now (run() or resume()), by run id: resume()
// must never take over one of them, whichever Saga object started it.
const activeRuns = new Set<string>();

/** This process. */
export function currentOwner(): SagaOwner {
  return { host: hostname(), pid: process.pid };
}

export function sameOwner(a: SagaOwner, b: SagaOwner): boolean {
  return a.host === b.host && a.pid === b.pid;
}

/** Marks a run as being worked on in this process; false if it already is. */
export function enterRun(runId: string): boolean {
  if (activeRuns.has(runId)) return false;
  activeRuns.add(runId);
  return true;
}

export function leaveRun(runId: string): void {
  activeRuns.delete(runId);
}

/**
 * Whether the recorded owner of a run is known to be gone, so the run may be taken over:
 * this process when it is not working on the run (an earlier process that had the same
 * pid, e.g. a restarted container), or a process of this host that no longer exists.
 * Processes of other hosts cannot be checked: undefined.
 */
export function ownerIsGone(owner: SagaOwner, runId: string, me: SagaOwner = currentOwner()): boolean | undefined {
  if (owner.host !== me.host) return undefined;
  if (owner.pid === me.pid) return !activeRuns.has(runId);
  return !processExists(owner.pid);
}

function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
