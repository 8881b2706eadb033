import type { Command } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { inDoubtBranches, recoverInDoubt } from '../../ops/in-doubt.js';
import type { RecoveredBranch } from '../../transaction/recovery-types.js';
import { cell, formatAge, loadProject, say, sayJson, table, wholeNumber } from '../context.js';

/** `polyrecord tx in-doubt|recover`: prepared two-phase-commit branches and their recovery. */
export function txCommand(program: Command, manager: ConnectionManager): void {
  const tx = program.command('tx').description('cross-database transactions: in-doubt (prepared) branches and their recovery');

  tx.command('in-doubt')
    .description('prepared branches on every connection with two-phase commit: gid, ours or foreign, node, age, the decision logged (exit 1 when a connection cannot be read)')
    .option('--json', 'print as JSON: { branches: [{ connection, connections, gid, ours, node, transactionId, thisNode, since, ageMs, decision, decisionIn, error? }], unreachable: [{ connection, error }] }')
    .action(async (options: { json?: boolean }, command: Command) => {
      await loadProject(command, manager);
      const report = await inDoubtBranches({ manager });
      if (options.json) sayJson(report);
      else if (report.branches.length === 0) say('no prepared branches');
      else {
        const rows = table(['connection', 'gid', 'made by', 'node', 'age', 'decision']);
        for (const b of report.branches) {
          const decision = b.error !== undefined ? `(cannot read: ${cell(b.error, 40)})` : b.decision === null ? (b.ours ? 'none (abort)' : '') : `${b.decision} (${b.decisionIn})`;
          rows.push([b.connections.join(', '), b.gid, b.ours ? 'polyrecord' : 'foreign', b.node === null ? '' : `${b.node}${b.thisNode ? ' (this node)' : ''}`, formatAge(b.ageMs), decision]);
        }
        say(rows.toString());
      }
      for (const { connection, error } of report.unreachable) process.stderr.write(`cannot list the prepared branches of ${connection}: ${error}\n`);
      if (report.unreachable.length > 0) throw new Error(`cannot read ${report.unreachable.map((u) => u.connection).join(', ')}`);
    });

  tx.command('recover')
    .description("finish this node's in-doubt branches: commit those whose transaction has a commit decision, roll back the rest (exit 1 when some could not be finished)")
    .option('--min-age <ms>', 'leave branches younger than this alone, they may belong to a running transaction (default 5000)', wholeNumber(0))
    .option('--node <id>', "recover this coordinator node's branches (default: coordinator.nodeId of the config, else POLYRECORD_NODE_ID, else the host name)")
    .option('--json', 'print as JSON: { committed, rolledBack, unknown: [{ transactionId, connection, gid, reason? }] }')
    .action(async (options: { minAge?: number; node?: string; json?: boolean }, command: Command) => {
      await loadProject(command, manager);
      const result = await recoverInDoubt({ manager, minAgeMs: options.minAge, nodeId: options.node });
      if (options.json) sayJson(result);
      else {
        const line = (what: string, branches: RecoveredBranch[]) => say(`${what}: ${branches.length === 0 ? 'none' : branches.map((b) => `${b.gid} on ${b.connection}${b.reason ? ` (${b.reason})` : ''}`).join(', ')}`);
        line('committed', result.committed);
        line('rolled back', result.rolledBack);
        if (result.unknown.length > 0) line('not finished', result.unknown);
      }
      if (result.unknown.length > 0) throw new Error(`${result.unknown.length} branch(es) could not be finished; run tx recover again once the cause is fixed`);
    });
}
