import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/**
 * CPU profiles of the timed sections only (`BENCH_CPU_PROFILE=dir`): unlike
 * `node --cpu-prof`, they leave out seeding, warm-up and checks. One file per section,
 * named by the label the runner gives it; open it in Chrome DevTools or VS Code.
 */
export class SectionProfiler {
  readonly #dir: string;
  #label = 'section';

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** Names the next profiled section (e.g. `sqlite-W2-polyrecord`). */
  label(label: string): void {
    this.#label = label;
  }

  /** Starts profiling; the returned function stops and writes the profile. */
  async start(): Promise<() => Promise<void>> {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const file = join(this.#dir, `${this.#label}.cpuprofile`);
    return async () => {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      writeFileSync(file, JSON.stringify(profile));
    };
  }
}
