import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConnectionManager } from '../connection/manager.js';
import type { PolyrecordConfig } from '../config/define-config.js';
import { OperationInputError } from '../ops/ops-errors.js';
import { messageOf } from '../ops/ops-options.js';
import { actionPolicy, actionRefusal, hostRefusal, isLoopback, type ActionPolicy } from './access.js';
import { retryAction, recoverAction, type ActionAnswer } from './actions.js';
import { renderPage, renderSections } from './render.js';
import { dashboardState } from './state.js';

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  manager: ConnectionManager;
  config: PolyrecordConfig;
  /** Default 4000; 0 picks a free port. */
  port?: number;
  /** Default `127.0.0.1`. Any other address makes actions need the token (read-only without one). */
  host?: string;
  /** Required for actions when set, wherever the server listens. */
  token?: string;
  /** How often the page refreshes itself, in ms. Default 2 000. */
  refreshMs?: number;
  /** How often connections are probed for their health, in ms. Default 5 000. */
  probeIntervalMs?: number;
}

/** A running dashboard. */
export interface RunningDashboard {
  /** Where it answers, e.g. `http://127.0.0.1:4000/`. */
  readonly url: string;
  readonly policy: ActionPolicy;
  /** Stops listening, ends open requests and the health probes. Connections stay open (the caller owns them). */
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

/**
 * Serves the operator dashboard: the page (`/`), its sections for the page's refresh
 * (`/sections`), the same data as JSON (`GET /api/state`), and the actions
 * `POST /api/outbox/retry` and `POST /api/tx/recover`, under the rules of {@link actionPolicy}.
 * Starts `manager.monitor()` for the connections' health.
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const { manager, config, port = 4000, host = '127.0.0.1', refreshMs = 2_000 } = options;
  const policy = actionPolicy(host, options.token);
  const loopback = isLoopback(host);
  const scope = { manager, config };
  const stopProbes = manager.monitor({ intervalMs: options.probeIntervalMs ?? 5_000 });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const refusedHost = hostRefusal(request, loopback);
    if (refusedHost) return sendJson(response, refusedHost.status, { error: refusedHost.error });
    const path = new URL(request.url ?? '/', 'http://dashboard').pathname;
    const route = `${request.method} ${path}`;
    switch (route) {
      case 'GET /': {
        const nonce = randomBytes(16).toString('base64');
        const page = renderPage(renderSections(await dashboardState(manager, config), policy), nonce, refreshMs);
        return send(response, 200, 'text/html; charset=utf-8', page.text, { 'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'` });
      }
      case 'GET /sections':
        return send(response, 200, 'text/html; charset=utf-8', renderSections(await dashboardState(manager, config), policy).text);
      case 'GET /api/state':
        return sendJson(response, 200, await dashboardState(manager, config));
      case 'POST /api/outbox/retry':
      case 'POST /api/tx/recover': {
        const refused = actionRefusal(request, policy);
        if (refused) return sendJson(response, refused.status, { error: refused.error });
        const body = await readJson(request);
        const answer: ActionAnswer = path === '/api/outbox/retry' ? await retryAction(body, scope) : await recoverAction(body, scope);
        return sendJson(response, 200, answer);
      }
      default:
        return sendJson(response, ['/', '/sections', '/api/state', '/api/outbox/retry', '/api/tx/recover'].includes(path) ? 405 : 404, { error: `no ${route}` });
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof BadRequest) sendJson(response, error.status, { error: error.message });
      else if (error instanceof OperationInputError) sendJson(response, 400, { error: error.message, field: error.field, known: error.known });
      else sendJson(response, 500, { error: messageOf(error) });
    });
  });
  try {
    await listen(server, port, host);
  } catch (error) {
    await stopProbes();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/`,
    policy,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([closed, stopProbes()]);
    },
  };
}

/** A request the server cannot take (a body too big or not JSON). */
class BadRequest extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BadRequest(413, `the body is over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequest(400, 'the body is not JSON');
  }
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  // Sync checkpoints may hold bigint keys, which JSON has no type for: sent as text.
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

function send(response: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', ...headers });
  response.end(body);
}
