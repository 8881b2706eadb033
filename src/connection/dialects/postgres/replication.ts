import type { ReplicationSupport } from '../replication.js';

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;

/** A WAL location `X/Y` (two 32-bit hex halves) as one number, for ordering. */
function lsnValue(lsn: string): bigint {
  const [high, low] = lsn.split('/') as [string, string];
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/**
 * PostgreSQL streaming replication: positions are WAL LSNs. `pg_current_wal_lsn()` on the
 * primary, read after a commit returned, lies at or past that commit's record (synchronous
 * commit flushed it); a standby has applied it once `pg_last_wal_replay_lsn()` reaches it.
 */
export const postgresReplication: ReplicationSupport = {
  primaryPositionSql: 'select pg_current_wal_lsn()::text as position',
  replayedPositionSql: 'select pg_last_wal_replay_lsn()::text as position',
  // Nothing received and not yet replayed means no lag, however old the last transaction is.
  lagSql:
    'select case when pg_last_wal_receive_lsn() is not distinct from pg_last_wal_replay_lsn() then 0 else greatest(0, extract(epoch from now() - pg_last_xact_replay_timestamp()) * 1000) end as lag_ms',
  readLagMs: (row) => {
    const value = row?.lag_ms;
    return value === null || value === undefined ? 0 : Number(value);
  },
  reached: (applied, target) => lsnValue(applied) >= lsnValue(target),
  later: (a, b) => (lsnValue(a) >= lsnValue(b) ? a : b),
  isPosition: (text) => LSN.test(text),
};
