import type pg from 'pg';
import { PolyrecordError } from '../../errors.js';
import { assertXid, driverErrorCode, type DriverConnection, type PreparedBranch, type TwoPhaseSupport, type Xid } from './dialect.js';

const gid = (xid: Xid) => {
  assertXid(xid);
  // PREPARE TRANSACTION takes no bind parameter: the gid is a literal from a checked alphabet.
  return `'${xid.gtrid}:${xid.bqual}'`;
};

async function finish(connection: DriverConnection, statement: string): Promise<'done' | 'notFound'> {
  try {
    await (connection as pg.PoolClient).query(statement);
    return 'done';
  } catch (error) {
    // 42704: no prepared transaction with that gid — it was already finished.
    if (driverErrorCode(error) === '42704') return 'notFound';
    throw error;
  }
}

/** PostgreSQL: `BEGIN` … `PREPARE TRANSACTION`, then `COMMIT PREPARED` / `ROLLBACK PREPARED` from any session. */
export const postgresTwoPhase: TwoPhaseSupport = {
  async assertEnabled(connection) {
    const { rows } = await (connection as pg.PoolClient).query('show max_prepared_transactions');
    if (Number(rows[0]?.max_prepared_transactions ?? 0) <= 0) {
      throw new PolyrecordError('E_2PC_DISABLED', 'PostgreSQL has max_prepared_transactions = 0, so it cannot take part in two-phase commit; set it above 0 (ALTER SYSTEM SET max_prepared_transactions = 64) and restart the server');
    }
  },

  async begin(connection) {
    await (connection as pg.PoolClient).query('BEGIN');
  },

  async prepare(connection, xid) {
    const result = await (connection as pg.PoolClient).query(`PREPARE TRANSACTION ${gid(xid)}`);
    // A transaction that already failed answers PREPARE with ROLLBACK and no error: that is a NO vote.
    if (result.command !== 'PREPARE') throw new PolyrecordError('E_2PC_PREPARE', `PostgreSQL rolled the branch back instead of preparing it (answered ${result.command})`);
  },

  commitPrepared: (connection, xid) => finish(connection, `COMMIT PREPARED ${gid(xid)}`),
  rollbackPrepared: (connection, xid) => finish(connection, `ROLLBACK PREPARED ${gid(xid)}`),

  async rollbackActive(connection) {
    await (connection as pg.PoolClient).query('ROLLBACK');
  },

  async listPrepared(connection): Promise<PreparedBranch[]> {
    const { rows } = await (connection as pg.PoolClient).query('select gid, prepared from pg_prepared_xacts where database = current_database()');
    // gid = gtrid:bqual where the gtrid is `prefix:node:transaction` (two colons); the bqual may hold more (a last resource's name).
    return rows.flatMap((row: { gid: string; prepared: Date }) => {
      const parts = row.gid.split(':');
      return parts.length < 4 ? [] : [{ xid: { gtrid: parts.slice(0, 3).join(':'), bqual: parts.slice(3).join(':') }, preparedAt: row.prepared }];
    });
  },
};
