import type { ReportStatement, TwoPhaseSupport } from './dialects/dialect.js';

/** A dialect's two-phase commit with every statement it sends passed to `report` (a connection's query events). */
export function reportedTwoPhase(twoPhase: TwoPhaseSupport, report: ReportStatement): TwoPhaseSupport {
  return {
    assertEnabled: (connection) => twoPhase.assertEnabled(connection, report),
    begin: (connection, xid) => twoPhase.begin(connection, xid, report),
    prepare: (connection, xid) => twoPhase.prepare(connection, xid, report),
    commitPrepared: (connection, xid) => twoPhase.commitPrepared(connection, xid, report),
    rollbackPrepared: (connection, xid) => twoPhase.rollbackPrepared(connection, xid, report),
    rollbackActive: (connection, xid) => twoPhase.rollbackActive(connection, xid, report),
    listPrepared: (connection) => twoPhase.listPrepared(connection, report),
  };
}
