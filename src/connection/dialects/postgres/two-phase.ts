import type pg from 'pg';
import { PolyrecordError } from '../../../errors.js';
import { assertXid, driverErrorCode, unreported, type DriverConnection, type PreparedBranch, type ReplyCounts, type ReportStatement, type TwoPhaseSupport, type Xid } from '../dialect.js';

const gid = (xid: Xid) => {
  assertXid(xid);
  // PREPARE TRANSACTION takes no bind parameter: the gid is a literal from a checked alphabet.
  return `'${xid.gtrid}:${xid.bqual}'`;
};

const counts = (result: pg.QueryResult): ReplyCounts => (result.command === 'SELECT' || result.command === 'SHOW' ? { rows: result.rows.length, affected: 0 } : { rows: 0, affected: result.rowCount ?? 0 });

/** Sends one statement on the held session, reported as a query event. */
function query(connection: DriverConnection, sql: string, inTransaction: boolean, report: ReportStatement): Promise<pg.QueryResult> {
  return report(sql, [], inTransaction, () => (connection as pg.PoolClient).query(sql), counts);
}

async function finish(connection: DriverConnection, statement: string, report: ReportStatement): Promise<'done' | 'notFound'> {
  try {
    await query(connection, statement, true, report);
    return 'done';
  } catch (error) {
    // 42704: no prepared transaction with that gid — it was already finished.
    if (driverErrorCode(error) === '42704') return 'notFound';
    throw error;
  }
}

/** PostgreSQL: `BEGIN` … `PREPARE TRANSACTION`, then `COMMIT PREPARED` / `ROLLBACK PREPARED` from any session. */
export const postgresTwoPhase: TwoPhaseSupport = {
  async assertEnabled(connection, report = unreported) {
    const { rows } = await query(connection, 'show max_prepared_transactions', false, report);
    if (Number(rows[0]?.max_prepared_transactions ?? 0) <= 0) {
      throw new PolyrecordError('E_2PC_DISABLED', 'PostgreSQL has max_prepared_transactions = 0, so it cannot take part in two-phase commit; set it above 0 (ALTER SYSTEM SET max_prepared_transactions = 64) and restart the server');
    }
  },

  async begin(connection, _xid, report = unreported) {
    await query(connection, 'BEGIN', true, report);
  },

  async prepare(connection, xid, report = unreported) {
    const result = await query(connection, `PREPARE TRANSACTION ${gid(xid)}`, true, report);
    // A transaction that already failed answers PREPARE with ROLLBACK and no error: that is a NO vote.
    if (result.command !== 'PREPARE') throw new PolyrecordError('E_2PC_PREPARE', `PostgreSQL rolled the branch back instead of preparing it (answered ${result.command})`);
  },

  commitPrepared: (connection, xid, report = unreported) => finish(connection, `COMMIT PREPARED ${gid(xid)}`, report),
  rollbackPrepared: (connection, xid, report = unreported) => finish(connection, `ROLLBACK PREPARED ${gid(xid)}`, report),

  async rollbackActive(connection, _xid, report = unreported) {
    await query(connection, 'ROLLBACK', true, report);
  },

  async listPrepared(connection, report = unreported): Promise<PreparedBranch[]> {
    const { rows } = await query(connection, 'select gid, prepared from pg_prepared_xacts where database = current_database()', false, report);
    // gid = gtrid:bqual where the gtrid is `prefix:node:transaction` (two colons); the bqual may hold more (a last resource's name).
    // Anybody else's gid is listed whole as the gtrid, with an empty bqual (as XA lists an xid without one).
    return rows.map((row: { gid: string; prepared: Date }) => {
      const parts = row.gid.split(':');
      const xid = parts.length < 4 ? { gtrid: row.gid, bqual: '' } : { gtrid: parts.slice(0, 3).join(':'), bqual: parts.slice(3).join(':') };
      return { xid, preparedAt: row.prepared };
    });
  },
};
