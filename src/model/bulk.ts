import type { ExecResult } from '../connection/dialects/dialect.js';
import { QueryBuilderError } from '../errors.js';
import { runTransaction } from '../connection/session/local-transaction.js';
import { columnValue } from './column-values.js';
import { coarseColumns, fitDate } from './datetime-digits.js';
import { stampedOnInsert, type ColumnMeta, type ModelMeta } from './metadata.js';
import { bindingsFor, compiled, slot, type CompiledStatement } from './statement-compiler.js';
import { encodeFor, execOptions, runStatement, type Target } from './target.js';

/** Options of `bulkInsertOrUpdate`. */
export interface UpsertOptions<P extends string = string> {
  /** Properties of the unique key that decides "already exists". MySQL uses whichever unique key conflicts. */
  conflictKeys: readonly P[];
  /** Properties to overwrite on conflict. Default: every inserted property except the conflict keys, the primary key and `@CreatedAt`. */
  update?: readonly P[];
}

interface Run {
  /** Every column the rows of this run write. */
  columns: ColumnMeta[];
  /** The columns the caller gave (and the timestamps): what an upsert overwrites by default, never a field-initializer default. */
  given: ColumnMeta[];
  rows: Record<string, unknown>[];
}

/** What a bulk write did. */
export interface BulkOutcome {
  /** Rows sent. */
  readonly sent: number;
  /** Rows an upsert inserted rather than updated, when asked and the dialect can tell in the same statement; else undefined. */
  readonly inserted: number | undefined;
}

/**
 * Inserts (or upserts) many rows, chunked to stay under the dialect's bind-parameter
 * limit and run in one transaction (a savepoint inside an open one), so either every
 * row is written or none. Runs no per-record hooks. `countInserted`: an upsert also
 * reports how many rows it inserted, where the dialect has an `upsertInsertedFlag`.
 */
export async function bulkWrite(meta: ModelMeta, target: Target, rows: readonly object[], upsert: UpsertOptions | undefined, countInserted = false): Promise<BulkOutcome> {
  if (!Array.isArray(rows)) throw new QueryBuilderError('bulk operations take an array of objects');
  const flag = upsert && countInserted ? target.connection.dialect.upsertInsertedFlag : undefined;
  if (rows.length === 0) return { sent: 0, inserted: flag === undefined ? undefined : 0 };
  const conflict = upsert ? conflictColumns(meta, upsert) : undefined;
  const runs = groupByColumns(meta, rows);
  const now = new Date();
  const explicitUpdate = upsert?.update?.map((p) => meta.column(p));
  const options = execOptions(meta);
  const coarse = await coarseColumns(meta, target.connection);
  const plans = runs.map((run) => ({
    run,
    update: conflict ? (explicitUpdate ?? run.given.filter((c) => !conflict.includes(c) && !c.primary && c.role !== 'createdAt')) : undefined,
    perStatement: Math.max(1, Math.min(target.connection.dialect.rowsPerInsert(run.columns.length), run.rows.length)),
  }));
  const statements = plans.reduce((n, p) => n + Math.ceil(p.run.rows.length / p.perStatement), 0);
  let inserted = 0;
  const tally = (result: ExecResult) => {
    for (const row of result.rows) if (row.inserted === true) inserted++;
  };
  const writeAll = async (execute: (statement: CompiledStatement, values: unknown[]) => ExecResult | Promise<ExecResult>) => {
    for (const { run, update, perStatement } of plans) {
      let statement: CompiledStatement | undefined;
      for (let start = 0; start < run.rows.length; start += perStatement) {
        const chunk = run.rows.slice(start, start + perStatement);
        if (statement === undefined || chunk.length !== perStatement) statement = bulkStatement(meta, target, run.columns, chunk.length, conflict, update, flag);
        const values: unknown[] = [];
        for (const row of chunk) {
          for (const column of run.columns) {
            const value = row[column.property];
            values.push(encodeFor(target, column, fitDate(column, value === undefined && stampedOnInsert(column) ? now : value, coarse)));
          }
        }
        const result = execute(statement, values);
        if (flag === undefined) {
          if (result instanceof Promise) await result;
        } else tally(result instanceof Promise ? await result : result);
      }
    }
  };
  if (statements === 1) {
    // One statement is atomic by itself: no transaction round trips.
    await writeAll((statement, values) => runStatement(target, statement, values, options));
  } else {
    await runTransaction(target.connection, (trx) =>
      // SQLite answers synchronously: stay synchronous there (no promise per row).
      writeAll((statement, values) => target.connection.run(trx.driverConnection, statement.sql, bindingsFor(statement, values), options)),
    );
  }
  meta.events.emit('bulk', { operation: upsert ? 'upsert' : 'insert', count: rows.length });
  return { sent: rows.length, inserted: flag === undefined ? undefined : inserted };
}

/** `flag`: an upsert returns it as `inserted` per row (see `DialectAdapter.upsertInsertedFlag`). */
function bulkStatement(meta: ModelMeta, target: Target, columns: ColumnMeta[], count: number, conflict: ColumnMeta[] | undefined, update: ColumnMeta[] | undefined, flag: string | undefined): CompiledStatement {
  const names = columns.map((c) => c.column).join(',');
  const key = `bulk:${names}:${count}:${conflict ? `${conflict.map((c) => c.column).join(',')}>${update!.map((c) => c.column).join(',')}` : ''}${flag === undefined ? '' : ':inserted'}`;
  return compiled(meta, target.connection, key, (knex) => {
    const records = Array.from({ length: count }, (_, r) => Object.fromEntries(columns.map((c, i) => [c.column, slot(r * columns.length + i)])));
    const insert = knex(meta.tableName).insert(records);
    if (!conflict) return insert;
    const onConflict = insert.onConflict(conflict.map((c) => c.column));
    const upsert = update!.length ? onConflict.merge(update!.map((c) => c.column)) : onConflict.ignore();
    return flag === undefined ? upsert : upsert.returning(knex.raw(`${flag} as ??`, ['inserted']) as never);
  });
}

function conflictColumns(meta: ModelMeta, upsert: UpsertOptions): ColumnMeta[] {
  if (!upsert || !Array.isArray(upsert.conflictKeys) || upsert.conflictKeys.length === 0) throw new QueryBuilderError('bulkInsertOrUpdate() needs { conflictKeys: [...] }');
  return upsert.conflictKeys.map((p) => meta.column(p));
}

/**
 * Checks every value against its column, fills the defaults a new instance would have
 * (field initializers), and groups consecutive rows with the same set of columns
 * (`@CreatedAt`/`@UpdatedAt` always included: a missing one is filled with the time of the
 * call when encoded). A row is copied only when a value changes (a default, `'42'` → 42),
 * so a refused value throws before any SQL and the caller's objects are never modified.
 */
function groupByColumns(meta: ModelMeta, rows: readonly object[]): Run[] {
  const runs: Run[] = [];
  const initialized = meta.initializedColumns;
  let current: Run | undefined;
  let signature = '';
  for (const input of rows) {
    if (input === null || typeof input !== 'object') throw new QueryBuilderError('bulk operations take an array of objects');
    const given = input as Record<string, unknown>;
    for (const property in given) if (!meta.byProperty.has(property)) meta.column(property);
    let row: Record<string, unknown> | undefined;
    if (initialized.length > 0 && initialized.some((c) => given[c.property] === undefined)) {
      const fresh = new (meta.ctor as new () => Record<string, unknown>)();
      row = { ...given };
      for (const column of initialized) if (row[column.property] === undefined) row[column.property] = fresh[column.property];
    }
    let sig = '';
    for (const column of meta.columns) {
      const value = (row ?? given)[column.property];
      const canonical = columnValue(meta.name, column, value);
      if (canonical !== value) (row ??= { ...given })[column.property] = canonical;
      sig += stampedOnInsert(column) || given[column.property] !== undefined ? '1' : canonical !== undefined ? 'd' : '0';
    }
    if (!current || sig !== signature) {
      const written = (_: ColumnMeta, i: number) => sig[i] !== '0';
      current = { columns: meta.columns.filter(written), given: meta.columns.filter((_, i) => sig[i] === '1'), rows: [] };
      runs.push(current);
      signature = sig;
    }
    current.rows.push(row ?? given);
  }
  return runs;
}
