import { assertXid, unreported, type DriverConnection, type PreparedBranch, type ReplyCounts, type ReportStatement, type TwoPhaseSupport, type Xid } from '../dialect.js';

type Callback = (error: (Error & { errno?: number }) | null, result?: unknown) => void;
interface XaConnection {
  query(sql: string, values: unknown[], callback: Callback): void;
}

const counts = (reply: unknown): ReplyCounts => (Array.isArray(reply) ? { rows: reply.length, affected: 0 } : { rows: 0, affected: (reply as { affectedRows?: number }).affectedRows ?? 0 });

// XA statements go through the text protocol: the binary (prepared) protocol refuses them.
function send(connection: DriverConnection, sql: string, values: unknown[], inTransaction: boolean, report: ReportStatement): Promise<unknown> {
  return report(sql, values, inTransaction, () => new Promise((resolve, reject) => (connection as XaConnection).query(sql, values, (error, result) => (error ? reject(error) : resolve(result)))), counts);
}

function query(connection: DriverConnection, sql: string, xid: Xid, report: ReportStatement): Promise<unknown> {
  assertXid(xid);
  return send(connection, sql, [xid.gtrid, xid.bqual], true, report);
}

const XAER_NOTA = 1397;

async function finish(connection: DriverConnection, sql: string, xid: Xid, report: ReportStatement): Promise<'done' | 'notFound'> {
  try {
    await query(connection, sql, xid, report);
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

  begin: async (connection, xid, report = unreported) => void (await query(connection, 'XA START ?, ?', xid, report)),

  async prepare(connection, xid, report = unreported) {
    await query(connection, 'XA END ?, ?', xid, report);
    await query(connection, 'XA PREPARE ?, ?', xid, report);
  },

  commitPrepared: (connection, xid, report = unreported) => finish(connection, 'XA COMMIT ?, ?', xid, report),
  rollbackPrepared: (connection, xid, report = unreported) => finish(connection, 'XA ROLLBACK ?, ?', xid, report),

  async rollbackActive(connection, xid, report = unreported) {
    // END fails if the branch is already idle or rollback-only; ROLLBACK works from every state.
    await query(connection, 'XA END ?, ?', xid, report).catch(() => undefined);
    await query(connection, 'XA ROLLBACK ?, ?', xid, report);
  },

  async listPrepared(connection, report = unreported): Promise<PreparedBranch[]> {
    const rows = (await send(connection, 'XA RECOVER', [], false, report)) as Array<{ gtrid_length: number; data: Buffer | string }>;
    return rows.map((row) => {
      const data = Buffer.isBuffer(row.data) ? row.data.toString('latin1') : String(row.data);
      return { xid: { gtrid: data.slice(0, Number(row.gtrid_length)), bqual: data.slice(Number(row.gtrid_length)) } };
    });
  },
};
