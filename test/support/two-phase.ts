import { ConnectionManager, CrossDbTransaction, type ConnectionConfig } from '../../src/index.js';
import type { Xid } from '../../src/connection/dialects/dialect.js';
import { Account } from './accounts.js';
import { DIALECTS } from './dialects.js';
import type { ServerPair } from './server-pairs.js';
import { waitFor } from './wait.js';

/**
 * Server sessions, by the server's own id (PostgreSQL backend pid, MariaDB connection id).
 *
 * A test that hands prepared branches to recovery must first wait until the servers have
 * finished with the sessions that held them (a killed coordinator's, a discarded branch
 * connection's, one whose network was cut). Until a session is gone:
 *
 * - MariaDB: its prepared XA branch is still attached. `XA RECOVER` lists it, but
 *   `XA COMMIT` / `XA ROLLBACK` from another session answer "unknown XID" (which recovery
 *   counts as finished). The server detaches the branch before it drops the session from
 *   its process list;
 * - PostgreSQL: a `PREPARE TRANSACTION` sent just before the client died may still be
 *   running, and its branch appear only after a recovery pass has looked.
 */
const SESSIONS_SQL = {
  postgresql: {
    all: `select pid::text as id from pg_stat_activity where datname = current_database() and backend_type = 'client backend'`,
    own: 'select pg_backend_pid()::text as id',
  },
  mysql: {
    all: 'select cast(id as char) as id from information_schema.processlist where db = database()',
    own: 'select cast(connection_id() as char) as id',
  },
} as const;

function sessionSql(name: string) {
  const driver = ConnectionManager.get(name).driver;
  if (driver === 'sqlite') throw new Error(`"${name}" is a SQLite connection: it has no server sessions`);
  return SESSIONS_SQL[driver];
}

/** The sessions on this connection's database now, including the asking one unless `others`. */
export async function sessionsOn(name: string, others = false): Promise<Set<string>> {
  const connection = ConnectionManager.get(name);
  const driver = await connection.acquire();
  try {
    const { rows } = await connection.executeOn(driver, sessionSql(name).all, []);
    const ids = new Set(rows.map((r) => String(r.id)));
    if (others) ids.delete(String((await connection.executeOn(driver, sessionSql(name).own, [])).rows[0]!.id));
    return ids;
  } finally {
    connection.release(driver);
  }
}

/** The id of the session a model query on `name` runs in; inside a cross-database transaction, the branch's session. */
export async function currentSession(name: string): Promise<string> {
  const rows = (await Account.using(name).rawQuery(sessionSql(name).own)) as unknown as Array<{ id: string }>;
  return String(rows[0]!.id);
}

/**
 * Waits until these sessions (ids on `name`'s database) have ended on the server. The asking
 * session counts too: a session that was meant to be closed but went back to the pool never ends.
 */
export async function waitForSessionsToEnd(name: string, ids: Iterable<string>): Promise<void> {
  const waiting = new Set(ids);
  await waitFor(async () => {
    const open = await sessionsOn(name);
    return ![...waiting].some((id) => open.has(id));
  }, `the server to end sessions ${[...waiting].join(', ')} on "${name}"`);
}

/** Waits until every session on `name`'s database that is not in `before` has ended (a killed child's, say). */
export async function waitForNewSessionsToEnd(name: string, before: Set<string>): Promise<void> {
  await waitForSessionsToEnd(name, [...(await sessionsOn(name, true))].filter((id) => !before.has(id)));
}

/** Leaves a branch with this xid prepared on a connection, its session closed (as a crashed coordinator would). */
export async function leavePrepared(name: string, xid: Xid, sql: string): Promise<void> {
  const connection = ConnectionManager.get(name);
  const twoPhase = connection.dialect.twoPhase!;
  const driver = await connection.acquire();
  let session: string;
  try {
    session = String((await connection.executeOn(driver, sessionSql(name).own, [])).rows[0]!.id);
    await twoPhase.begin(driver, xid);
    await connection.executeOn(driver, sql, []);
    await twoPhase.prepare(driver, xid);
  } finally {
    await connection.discard(driver);
  }
  await waitForSessionsToEnd(name, [session]);
}

/**
 * A coordinator node id unique to this test process, so that two runs sharing the servers
 * (a mutation run beside `npm test`) never recover or roll back each other's branches:
 * recovery only touches the branches of its own node. At most 24 characters.
 */
export function runNodeId(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}`;
}

/**
 * Rolls back the prepared branches of `nodeId` that a test left behind, and returns their
 * gids, so that a failing test does not make the next set-up (or the final DROP DATABASE)
 * wait on their locks.
 */
export async function rollBackLeftovers(connections: readonly string[], nodeId: string): Promise<string[]> {
  const rolledBack = new Set<string>();
  const pass = async () => {
    let left = 0;
    for (const name of connections) {
      const connection = ConnectionManager.get(name);
      const twoPhase = connection.dialect.twoPhase!;
      const driver = await connection.acquire();
      try {
        for (const branch of await twoPhase.listPrepared(driver)) {
          if (!branch.xid.gtrid.startsWith(`polyrec:${nodeId}:`)) continue;
          left++;
          await twoPhase.rollbackPrepared(driver, branch.xid).catch(() => undefined);
          rolledBack.add(`${branch.xid.gtrid}:${branch.xid.bqual}`);
        }
      } finally {
        connection.release(driver);
      }
    }
    return left;
  };
  // Normally there is nothing to do. A MariaDB branch still attached to a session cannot be rolled back from another
  // one ("unknown XID"), and stays listed: try again until its session has ended.
  if ((await pass()) > 0) await waitFor(async () => (await pass()) === 0, 'the leftover branches to be rolled back').catch(() => undefined);
  return [...rolledBack].sort();
}

/**
 * The databases of a cross-database suite: `bank_l` and `bank_r` on the pair's servers,
 * `bank_s` on SQLite and the coordinator log `txlog` on another SQLite file, each
 * configured, and the coordinator configured with that log and `nodeId`. Resolves with
 * their configs and what drops them all.
 */
export async function provisionBanks(pair: ServerPair, nodeId: string): Promise<{ configs: Record<string, ConnectionConfig>; drop: () => Promise<void> }> {
  const servers = await pair.provision();
  const lite = await DIALECTS.find((d) => d.driver === 'sqlite')!.provision(2);
  const configs: Record<string, ConnectionConfig> = { bank_l: servers.left, bank_r: servers.right, bank_s: lite.configs[0]!, txlog: lite.configs[1]! };
  for (const [name, config] of Object.entries(configs)) ConnectionManager.configure(name, config);
  CrossDbTransaction.configure({ log: 'txlog', nodeId });
  return {
    configs,
    drop: async () => {
      await servers.drop();
      await lite.drop();
    },
  };
}
