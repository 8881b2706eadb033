import type { ReplicationSupport } from '../replication.js';

/** One GTID `domain-server-sequence`; a position lists the last one applied per replication domain. */
const GTID = /^\d+-\d+-\d+$/;

interface Applied {
  readonly gtid: string;
  readonly sequence: bigint;
}

/** A GTID position by replication domain (sequence numbers grow within a domain, whichever server wrote them). */
function byDomain(position: string): Map<string, Applied> {
  const domains = new Map<string, Applied>();
  for (const part of position.split(',')) {
    const gtid = part.trim();
    if (gtid === '') continue;
    const [domain, , sequence] = gtid.split('-') as [string, string, string];
    domains.set(domain, { gtid, sequence: BigInt(sequence) });
  }
  return domains;
}

/**
 * MariaDB GTID replication: `@@gtid_binlog_pos` on the primary (empty where it writes no binary
 * log: then positions cannot be read and the `stickyMs` timer stands in), `@@gtid_slave_pos` on
 * a replica. `Seconds_Behind_Master` is null while the replica's SQL thread is stopped.
 */
export const mysqlReplication: ReplicationSupport = {
  primaryPositionSql: "select nullif(@@global.gtid_binlog_pos, '') as position",
  replayedPositionSql: 'select @@global.gtid_slave_pos as position',
  lagSql: 'show slave status',
  readLagMs: (row) => {
    if (row === undefined) return 0; // not a replica (a promoted one): nothing to wait for
    const seconds = row.Seconds_Behind_Master;
    return seconds === null || seconds === undefined ? undefined : Number(seconds) * 1000;
  },
  reached: (applied, target) => {
    const done = byDomain(applied);
    for (const [domain, { sequence }] of byDomain(target)) if ((done.get(domain)?.sequence ?? -1n) < sequence) return false;
    return true;
  },
  later: (a, b) => {
    const merged = byDomain(a);
    for (const [domain, applied] of byDomain(b)) if ((merged.get(domain)?.sequence ?? -1n) < applied.sequence) merged.set(domain, applied);
    return [...merged.values()].map((applied) => applied.gtid).join(',');
  },
  isPosition: (text) => text.split(',').every((gtid) => GTID.test(gtid.trim())),
};
