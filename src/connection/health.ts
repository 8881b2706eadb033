import type { Connection } from './connection.js';
import type { HealthReport } from './health-report.js';

/**
 * Runs the dialect's ping statement, bounded by `healthTimeoutMs` so a server that
 * accepts TCP but never answers cannot hang the caller. Never throws.
 */
export async function probe(connection: Connection): Promise<HealthReport> {
  const started = performance.now();
  const timeoutMs = connection.settings.healthTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  const report = { name: connection.name, driver: connection.driver };
  try {
    const ping = connection.execute(connection.dialect.pingStatement, []);
    // The abandoned ping settles later (the connect timeout ends it); its outcome no longer matters.
    ping.catch(() => undefined);
    await Promise.race([ping, timeout]);
    return { ...report, ok: true, latencyMs: elapsed(started) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ...report, ok: false, latencyMs: elapsed(started), error: connection.settings.redact(message) };
  } finally {
    clearTimeout(timer);
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
