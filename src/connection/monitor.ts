import type { Connection } from './connection.js';
import { probe } from './health.js';
import type { HealthReport } from './health-report.js';

/** Options of `manager.monitor()`. */
export interface MonitorOptions {
  /** Time between two probes of every connection, in ms. Default 10,000. */
  readonly intervalMs?: number;
}

/** Where a monitor sends what it sees: the manager's `connection:down` / `connection:up` events. */
export interface MonitorSink {
  connections(): readonly Connection[];
  down(report: HealthReport): void;
  up(report: HealthReport): void;
}

/**
 * Probes every connection of a manager in the background, one round per interval (never two
 * rounds at once), and reports each connection that goes down or comes back. A connection is
 * up until a probe says otherwise. The timer does not keep the process alive.
 */
export class HealthMonitor {
  readonly #sink: MonitorSink;
  readonly #intervalMs: number;
  readonly #down = new Set<Connection>();
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #stopped = false;

  constructor(sink: MonitorSink, intervalMs: number) {
    this.#sink = sink;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#round = this.#probeAll();
  }

  /** Stops probing; resolves once a round under way has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
  }

  async #probeAll(): Promise<void> {
    const connections = this.#sink.connections();
    const reports = await Promise.all(connections.map(probe));
    for (const [i, report] of reports.entries()) {
      const connection = connections[i]!;
      connection.noteHealth(report);
      if (!report.ok && !this.#down.has(connection)) {
        this.#down.add(connection);
        this.#sink.down(report);
      } else if (report.ok && this.#down.delete(connection)) {
        this.#sink.up(report);
      }
    }
    if (!this.#stopped) this.#timer = setTimeout(() => (this.#round = this.#probeAll()), this.#intervalMs).unref();
  }
}
