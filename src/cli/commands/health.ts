import type { Command } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { loadProject, say, sayJson, table } from '../context.js';

/** `polyrecord health`: probes every connection and replica; exits 1 when one is down. */
export function healthCommand(program: Command, manager: ConnectionManager): void {
  program
    .command('health')
    .description('probe every connection and replica: ok or not, and the latency (exit 1 when one is down)')
    .option('--json', 'print as JSON: [{ name, driver, ok, latencyMs, error? }]')
    .action(async (options: { json?: boolean }, command: Command) => {
      await loadProject(command, manager);
      const reports = await manager.health();
      if (options.json) sayJson(reports);
      else {
        const rows = table(['connection', 'driver', 'ok', 'latency ms', 'error']);
        for (const report of reports) rows.push([report.name, report.driver, report.ok ? 'ok' : 'DOWN', String(report.latencyMs), report.error ?? '']);
        say(rows.toString());
      }
      const down = reports.filter((report) => !report.ok).map((report) => report.name);
      if (down.length > 0) throw new Error(`not healthy: ${down.join(', ')}`);
    });
}
