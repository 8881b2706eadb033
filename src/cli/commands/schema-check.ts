import type { Command } from 'commander';
import type { ConnectionManager } from '../../connection/manager.js';
import { schemaCheck } from '../../schema/schema-check.js';
import type { SchemaCheckReport } from '../../schema/schema-types.js';
import { collect, loadProject, say, sayJson, table } from '../context.js';

/** `polyrecord schema:check`: compares every model with its live table; exits 1 on a mismatch. */
export function schemaCheckCommand(program: Command, manager: ConnectionManager): void {
  program
    .command('schema:check')
    .description("compare every model of the config with its table on its connection: missing tables and columns, types, nullability, unique keys for conflictKeys (exit 1 on a mismatch)")
    .option('-c, --connection <name>', 'only the models on this connection (repeatable)', collect)
    .option('--json', 'print the report as JSON: { ok, checked: [{ connection, model, table }], problems: [...] }')
    .action(async (options: { connection?: string[]; json?: boolean }, command: Command) => {
      await loadProject(command, manager);
      const report = await schemaCheck({ manager, connections: options.connection });
      if (options.json) sayJson(report);
      else printReport(report);
      const mismatches = report.problems.filter((p) => p.severity === 'mismatch').length;
      // The report says what differs; the error line only gives the verdict.
      if (mismatches > 0) throw new Error(`schema:check found ${mismatches} mismatch${mismatches === 1 ? '' : 'es'}`);
    });
}

function printReport(report: SchemaCheckReport): void {
  const models = `${report.checked.length} model${report.checked.length === 1 ? '' : 's'}`;
  if (report.problems.length === 0) return say(`schema matches: ${models} checked`);
  const rows = table(['connection', 'model', 'table', 'column', 'problem', 'severity']);
  for (const p of report.problems) rows.push([p.connection, p.model, p.table, p.column ?? p.columns?.join(', ') ?? '', `${p.kind}: ${p.message}`, p.severity]);
  say(rows.toString());
  const warnings = report.problems.filter((p) => p.severity === 'warning').length;
  say(`${report.problems.length - warnings} mismatch(es), ${warnings} warning(s) in ${models}`);
}
