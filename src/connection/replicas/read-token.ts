import { ReadTokenError } from '../../errors.js';

const PREFIX = 'prw1.';

/**
 * A read-after token: connection name → the replication position its reads must see. Text
 * safe in a header, a cookie or a URL (`prw1.` and base64url of JSON).
 */
export function encodeReadToken(positions: ReadonlyMap<string, string>): string {
  return PREFIX + Buffer.from(JSON.stringify(Object.fromEntries(positions))).toString('base64url');
}

/** The positions of a token made by {@link encodeReadToken}; a {@link ReadTokenError} for anything else. */
export function decodeReadToken(token: string): Map<string, string> {
  if (typeof token !== 'string' || !token.startsWith(PREFIX)) throw new ReadTokenError(`not a read-after token: expected text starting "${PREFIX}" from writeToken()`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw new ReadTokenError('not a read-after token: its body is not base64url JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ReadTokenError('not a read-after token: its body is not an object of positions');
  const positions = new Map<string, string>();
  for (const [connection, position] of Object.entries(parsed)) {
    if (typeof position !== 'string') throw new ReadTokenError(`read-after token: the position for "${connection}" is not text`);
    positions.set(connection, position);
  }
  return positions;
}
