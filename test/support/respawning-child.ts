import type { ChildProcess } from 'node:child_process';
import { waitFor } from './wait.js';

/** How one run of a {@link RespawningChild} ended. */
export interface ChildRun {
  readonly child: ChildProcess;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
  /** Ended by {@link RespawningChild.stop}, not on its own or by the test's other kills. */
  readonly stopped: boolean;
}

/**
 * A process kept running the way a supervisor on a host would: whenever it exits (SIGKILLed,
 * crashed or done), `start` is called again for the next run, until {@link stop}. Each run's
 * outcome and output are recorded, and a test can wait for a line a run prints.
 */
export class RespawningChild {
  readonly runs: ChildRun[] = [];
  readonly #lines: Array<{ line: string; child: ChildProcess }> = [];
  #current!: ChildProcess;
  #closed: Promise<void> = Promise.resolve();
  #stopping = false;

  /** `start(n)` spawns run `n` (0, 1, …). At most `maxRuns` runs, so a child that fails at once does not spin. */
  constructor(
    private readonly start: (run: number) => ChildProcess,
    private readonly maxRuns = 500,
  ) {
    this.#spawn();
  }

  get current(): ChildProcess {
    return this.#current;
  }

  #spawn(): void {
    const child = this.start(this.runs.length);
    this.#current = child;
    let output = '';
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) this.#lines.push({ line, child });
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    this.#closed = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        this.runs.push({ child, code, signal, output, stopped: this.#stopping });
        if (!this.#stopping && this.runs.length < this.maxRuns) this.#spawn();
        resolve();
      }),
    );
  }

  /** Waits for a run to print a line matching `pattern`; resolves with the match and that run's process. */
  async waitForLine(pattern: RegExp, what: string, timeoutMs = 60_000): Promise<{ match: RegExpMatchArray; child: ChildProcess }> {
    let found: { match: RegExpMatchArray; child: ChildProcess } | undefined;
    await waitFor(() => {
      for (const { line, child } of this.#lines) {
        const match = line.match(pattern);
        if (match) return (found = { match, child }) !== undefined;
      }
      return false;
    }, what, timeoutMs);
    return found!;
  }

  /** Waits for the run of `child` to end and resolves with how it ended. */
  async runOf(child: ChildProcess, what: string, timeoutMs = 60_000): Promise<ChildRun> {
    await waitFor(() => this.runs.some((run) => run.child === child), what, timeoutMs);
    return this.runs.find((run) => run.child === child)!;
  }

  /** Stops respawning, SIGKILLs the current run and waits for it to end. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#current.kill('SIGKILL');
    await this.#closed;
  }
}
