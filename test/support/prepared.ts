import { ConnectionManager } from '../../src/index.js';

/** This node's prepared (in-doubt) branches on a connection, as gids. */
export async function ourPreparedBranches(connection: string, nodeId: string): Promise<string[]> {
  return (await preparedBranches(connection)).filter((gid) => gid.startsWith(`polyrec:${nodeId}:`));
}

/** Every prepared branch on a connection's server (this database, for PostgreSQL), as gids. */
export async function preparedBranches(connection: string): Promise<string[]> {
  const conn = ConnectionManager.get(connection);
  const twoPhase = conn.dialect.twoPhase!;
  const driver = await conn.acquire();
  try {
    return (await twoPhase.listPrepared(driver)).map((b) => `${b.xid.gtrid}:${b.xid.bqual}`);
  } finally {
    conn.release(driver);
  }
}
