import { assertXid, type DriverConnection, type PreparedBranch, type TwoPhaseSupport, type Xid } from './dialect.js';

type Callback = (error: (Error & { errno?: number }) | null, result?: unknown) => void;
interface XaConnection {
  query(sql: string, values: unknown[], callback: Callback): void;
}

// XA statements go through the text protocol: the binary (prepared) protocol refuses them.
function query(connection: DriverConnection, sql: string, xid: Xid): Promise<unknown> {
  assertXid(xid);
  return new Promise((resolve, reject) => (connection as XaConnection).query(sql, [xid.gtrid, xid.bqual], (error, result) => (error ? reject(error) : resolve(result))));
}

const XAER_NOTA = 1397;

async function finish(connection: DriverConnection, sql: string, xid: Xid): Promise<'done' | 'notFound'> {
  try {
    await query(connection, sql, xid);
    return 'done';
  } catch (error) {
    // 1397: unknown xid — already finished (or, for an empty branch, lost in a server crash: nothing to do either way).
    if ((error as { errno?: number }).errno === XAER_NOTA) return 'notFound';
    throw error;
  }
}

/** MySQL/MariaDB XA: `XA START` … `XA END`, `XA PREPARE`, then `XA COMMIT` / `XA ROLLBACK`; `XA RECOVER` lists in-doubt branches. */
export const mysqlXa: TwoPhaseSupport = {
  async assertEnabled() {
    // XA is always available on MySQL/MariaDB (except Galera clusters, which refuse XA START with a clear error).
  },

  begin: async (connection, xid) => void (await query(connection, 'XA START ?, ?', xid)),

  async prepare(connection, xid) {
    await query(connection, 'XA END ?, ?', xid);
    await query(connection, 'XA PREPARE ?, ?', xid);
  },

  commitPrepared: (connection, xid) => finish(connection, 'XA COMMIT ?, ?', xid),
  rollbackPrepared: (connection, xid) => finish(connection, 'XA ROLLBACK ?, ?', xid),

  async rollbackActive(connection, xid) {
    // END fails if the branch is already idle or rollback-only; ROLLBACK works from every state.
    await query(connection, 'XA END ?, ?', xid).catch(() => undefined);
    await query(connection, 'XA ROLLBACK ?, ?', xid);
  },

  async listPrepared(connection): Promise<PreparedBranch[]> {
    const result = await new Promise<unknown>((resolve, reject) => (connection as XaConnection).query('XA RECOVER', [], (error, rows) => (error ? reject(error) : resolve(rows))));
    const rows = result as Array<{ gtrid_length: number; data: Buffer | string }>;
    return rows.map((row) => {
      const data = Buffer.isBuffer(row.data) ? row.data.toString('latin1') : String(row.data);
      return { xid: { gtrid: data.slice(0, Number(row.gtrid_length)), bqual: data.slice(Number(row.gtrid_length)) } };
    });
  },
};
