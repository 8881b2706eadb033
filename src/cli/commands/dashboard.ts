import { type Command, InvalidArgumentError } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { startDashboard } from '../../dashboard/server.js';
import { loadProject, say } from '../context.js';
import { stopRequested } from '../signals.js';

/** The environment variable that sets the dashboard token (kept out of `ps`, unlike `--token`). */
export const DASHBOARD_TOKEN_ENV = 'POLYRECORD_DASHBOARD_TOKEN';

function portNumber(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new InvalidArgumentError('must be a port number (0 to 65535; 0 picks a free one)');
  return port;
}

/** `polyrecord dashboard`: serves the operator page and its JSON API until SIGINT or SIGTERM. */
export function dashboardCommand(program: Command, manager: ConnectionManager): void {
  program
    .command('dashboard')
    .description('serve a web page (and JSON under /api) with connections, outbox, dead events, in-doubt branches, sync jobs and sagas, with retry and recover buttons, until Ctrl-C or SIGTERM')
    .option('--port <n>', 'port to listen on (default 4000; 0 picks a free one)', portNumber, 4000)
    .option('--host <address>', 'address to listen on; beyond the loopback, actions need the token and are refused without one (default 127.0.0.1)', '127.0.0.1')
    .option('--token <token>', `the token actions must carry (Authorization: Bearer <token>; the page takes it from /#token=<token>); default: the ${DASHBOARD_TOKEN_ENV} variable`)
    .action(async (options: { port: number; host: string; token?: string }, command: Command) => {
      const { config } = await loadProject(command, manager);
      const token = options.token ?? (process.env[DASHBOARD_TOKEN_ENV] || undefined);
      const dashboard = await startDashboard({ manager, config, port: options.port, host: options.host, token });
      // Taken right after the start: a signal from now on stops the server gracefully.
      const stop = stopRequested();
      const actions = { open: 'actions allowed from this machine', token: 'actions need the token', 'read-only': 'read-only: no token, so actions are refused' }[dashboard.policy.kind];
      say(`dashboard on ${dashboard.url} (${actions}; Ctrl-C to stop)`);
      await stop;
      await dashboard.close();
      say('dashboard stopped');
    });
}
