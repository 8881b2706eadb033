import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * Who may use the dashboard's actions (retry, recover):
 * - `open`: bound to a loopback address without a token: any same-origin request.
 * - `token`: a token is set: requests carrying it.
 * - `read-only`: bound to another address without a token: nobody.
 */
export type ActionPolicy = { readonly kind: 'open' } | { readonly kind: 'token'; readonly token: string } | { readonly kind: 'read-only' };

/** The policy for a server bound to `host` with `token` (empty counts as none). */
export function actionPolicy(host: string, token: string | undefined): ActionPolicy {
  if (token) return { kind: 'token', token };
  return isLoopback(host) ? { kind: 'open' } : { kind: 'read-only' };
}

/** Whether `host` (a name or an address, IPv6 with or without brackets) is this machine's loopback. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || bare === '::ffff:127.0.0.1';
}

/** Why a request is refused: the HTTP status and the message of the JSON answer. */
export interface Refusal {
  readonly status: 401 | 403 | 415;
  readonly error: string;
}

/**
 * Whether a request may reach a server bound to a loopback address: its `Host` must name
 * the loopback too, or a web page whose name was made to resolve to 127.0.0.1 (DNS
 * rebinding) could read the dashboard from a browser on this machine.
 */
export function hostRefusal(request: IncomingMessage, boundToLoopback: boolean): Refusal | undefined {
  if (!boundToLoopback) return undefined;
  const host = hostName(request.headers.host ?? '');
  return isLoopback(host) ? undefined : { status: 403, error: `the dashboard listens on the loopback only and does not answer for host "${host}"` };
}

/**
 * Whether an action (a POST) is refused under `policy`. With a token it must come as
 * `Authorization: Bearer <token>` (or `X-Polyrecord-Token`): a header no other site's page can
 * send. Without one (loopback only), the request must come from the dashboard's own page:
 * `Origin` naming the host it was sent to, or `Sec-Fetch-Site: same-origin`. Bodies must be JSON,
 * which a plain cross-site form cannot send either.
 */
export function actionRefusal(request: IncomingMessage, policy: ActionPolicy): Refusal | undefined {
  if (policy.kind === 'read-only') return { status: 403, error: 'the dashboard is read-only: it listens beyond the loopback without a token (start it with --token or POLYRECORD_DASHBOARD_TOKEN to allow actions)' };
  if (policy.kind === 'token') {
    const given = presentedToken(request);
    if (given === undefined) return { status: 401, error: 'this action needs the dashboard token (Authorization: Bearer <token>; in the page, open it as /#token=<token>)' };
    if (!sameSecret(given, policy.token)) return { status: 401, error: 'the dashboard token is wrong' };
  } else if (!sameOrigin(request)) {
    return { status: 403, error: 'actions are taken from the dashboard page only (send Origin: http://<host>:<port>, or the token)' };
  }
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) return { status: 415, error: 'send the action as JSON (Content-Type: application/json)' };
  return undefined;
}

function presentedToken(request: IncomingMessage): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  const header = request.headers['x-polyrecord-token'];
  return bearer ?? (typeof header === 'string' ? header : undefined);
}

/** Compares in constant time (hashes first, so the lengths match and leak nothing). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function sameOrigin(request: IncomingMessage): boolean {
  const { origin, host } = request.headers;
  if (origin !== undefined && host !== undefined) return origin === `http://${host}`;
  return request.headers['sec-fetch-site'] === 'same-origin';
}

/** The name in a `Host` header, without its port. */
function hostName(host: string): string {
  const bracketed = /^(\[[^\]]*\])(?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!;
  return host.replace(/:\d+$/, '');
}
