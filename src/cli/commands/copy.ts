import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { tableExists } from '../../connection/bookkeeping-table.js';
import type { Connection } from '../../connection/connection.js';
import type { ConnectionManager } from '../../connection/manager.js';
import type { ActiveRecord, ModelClass } from '../../model/active-record.js';
import { createTableFromModel } from '../../model/create-table.js';
import { metaOf, modelsNamed } from '../../model/metadata.js';
import { modelForTable } from '../../model/table-model.js';
import { SyncJob } from '../../sync/sync-job.js';
import { loadProject, say, sayJson, shellWord, wholeNumber } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { describeResult, runJob } from '../run-job.js';

interface CopyOptions {
  from: string;
  to: string;
  where?: string;
  batchSize?: number;
  create?: boolean;
  json?: boolean;
}

/**
 * `polyrecord copy <Model|table> --from a --to b`: a SyncJob whose source is the table on `a`
 * and whose target is the same table on `b`, keyed and paged by the primary key, so a copy is
 * batched, checkpointed and resumable like any job.
 */
export function copyCommand(program: Command, manager: ConnectionManager): void {
  program
    .command('copy')
    .description('copy a table between two connections of any dialects, in primary-key order, batch by batch, resumable (a second run continues where one stopped)')
    .argument('<model-or-table>', "a model class name from the config file's models, or a table name (its columns are read from --from)")
    .requiredOption('--from <connection>', 'the connection to read from')
    .requiredOption('--to <connection>', 'the connection to write to')
    .option('--where <sql>', 'a raw SQL condition on the source rows, run on the --from connection only, e.g. "created_at >= \'2026-01-01\'"')
    .option('--batch-size <n>', 'rows per batch (default 1000)', wholeNumber(1))
    .option('--create', 'create the table on --to from the model (or the source columns) when it is missing')
    .option('--json', 'print the result as JSON (progress goes to stderr)')
    .action(async (name: string, options: CopyOptions, command: Command) => {
      await loadProject(command, manager);
      const [from, to] = [manager.get(options.from), manager.get(options.to)];
      if (from === to) throw new UsageError(`--from and --to are the same connection ("${from.name}")`);
      const model = modelNamed(name, manager) ?? (await tableModel(from, name, manager));
      const meta = metaOf(model)!;
      const key = meta.primaryKey;
      if (!(await tableExists(to, meta.table!))) {
        if (!options.create) throw new UsageError(`table "${meta.table}" does not exist on "${to.name}"; pass --create to create it from ${model.name === meta.table ? 'the source columns' : `model ${model.name}`}`);
        await createTableFromModel(to, meta);
        if (!options.json) say(`created table "${meta.table}" on "${to.name}"`);
      }
      const where = options.where;
      const job = new SyncJob({
        // The checkpoint's name: another --where is another copy, with a checkpoint of its own.
        name: `copy:${meta.table}:${from.name}->${to.name}${where === undefined ? '' : `:${createHash('sha256').update(where).digest('hex').slice(0, 12)}`}`,
        source: model.using(from.name),
        target: model.using(to.name),
        map: (record) => Object.fromEntries(meta.columns.map((column) => [column.property, (record as unknown as Record<string, unknown>)[column.property]])),
        conflictKeys: [key.property as never],
        watermark: key.property as never,
        batchSize: options.batchSize,
        filter: where === undefined ? undefined : (query) => query.whereRaw(where),
      });
      const label = `copy ${meta.table} ${from.name} -> ${to.name}`;
      const resume = `polyrecord ${process.argv.slice(2).map(shellWord).join(' ')}`;
      const result = await runJob(job, { label, resume, json: options.json });
      // The rows keep their keys: a PostgreSQL sequence behind the key must move past them.
      const catchUp = to.dialect.keyGeneratorCatchUp(meta.table!, key.column);
      if (catchUp) await to.execute(catchUp.sql, catchUp.bindings);
      if (options.json) sayJson({ table: meta.table, from: from.name, to: to.name, ...result });
      else say(describeResult(label, result));
    });
}

/** A model read from the source's columns, for a table without a model class. */
async function tableModel(from: Connection, table: string, manager: ConnectionManager): Promise<ModelClass<ActiveRecord>> {
  if (!(await tableExists(from, table))) throw new UsageError(`no model named "${table}" in the config file's models, and no table "${table}" on "${from.name}"`);
  return modelForTable(from, table, manager);
}

/** The model the config file loaded under this class name, if exactly one. */
function modelNamed(name: string, manager: ConnectionManager): ModelClass<ActiveRecord> | undefined {
  const found = modelsNamed(name).filter((meta) => (meta.manager ?? manager) === manager);
  if (found.length > 1) throw new UsageError(`${found.length} models are named ${name}; copy one by its table name`);
  return found[0]?.ctor as ModelClass<ActiveRecord> | undefined;
}
