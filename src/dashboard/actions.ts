import { recoverInDoubt } from '../ops/in-doubt.js';
import { OperationInputError } from '../ops/ops-errors.js';
import type { OpsScope } from '../ops/ops-options.js';
import { retryDead } from '../ops/outbox.js';
import type { RecoveryResult } from '../transaction/recovery-types.js';

/** What an action answers: its result and a sentence for the page. */
export type ActionAnswer = { message: string } & ({ retried: number } | RecoveryResult);

/**
 * `POST /api/outbox/retry` `{ connection, ids: ["41"] }` (or `ids: "all"`): puts those dead
 * events of that outbox back to pending (`retryDead`).
 */
export async function retryAction(body: unknown, scope: OpsScope): Promise<ActionAnswer> {
  const { connection, ids } = fields(body);
  if (typeof connection !== 'string') throw new OperationInputError('connection', 'name the connection whose outbox holds the events: { "connection": "...", "ids": ["..."] }');
  if (ids !== 'all' && !(Array.isArray(ids) && ids.length > 0 && ids.every((id) => typeof id === 'string' || typeof id === 'number'))) throw new OperationInputError('ids', 'ids must be a list of event ids, or "all"');
  const retried = await retryDead(ids, { ...scope, connection });
  return { retried, message: `retried ${retried} dead event${retried === 1 ? '' : 's'} on ${connection}` };
}

/**
 * `POST /api/tx/recover` `{ nodeId?, minAgeMs? }`: finishes that node's in-doubt branches
 * (default: the configured node's) older than `minAgeMs` (default 5 000), as `recoverInDoubt`.
 */
export async function recoverAction(body: unknown, scope: OpsScope): Promise<ActionAnswer> {
  const { nodeId, minAgeMs } = fields(body);
  if (nodeId !== undefined && typeof nodeId !== 'string') throw new OperationInputError('nodeId', 'nodeId must be a string');
  if (minAgeMs !== undefined && typeof minAgeMs !== 'number') throw new OperationInputError('minAgeMs', 'minAgeMs must be a number');
  const result = await recoverInDoubt({ ...scope, nodeId, minAgeMs });
  const finished = result.committed.length + result.rolledBack.length;
  const message =
    finished === 0 && result.unknown.length === 0
      ? `nothing to finish (branches younger than ${minAgeMs ?? 5_000} ms are left alone: their transaction may still be running)`
      : `committed ${result.committed.length}, rolled back ${result.rolledBack.length}${result.unknown.length > 0 ? `, not finished ${result.unknown.length}: ${result.unknown.map((b) => `${b.gid} on ${b.connection}${b.reason ? ` (${b.reason})` : ''}`).join('; ')}` : ''}`;
  return { ...result, message };
}

function fields(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new OperationInputError('body', 'send a JSON object');
  return body as Record<string, unknown>;
}
