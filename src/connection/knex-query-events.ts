import type { Knex } from 'knex';
import type { ReplyCounts } from './dialects/dialect.js';

/** Where the statements of knex builders are reported (the connection's query events). */
export interface KnexQueryReporter {
  /** Whether anyone listens for query events now. */
  listening(): boolean;
  report(sql: string, bindings: readonly unknown[], inTransaction: boolean, start: number, counts: ReplyCounts | undefined, error: unknown): void;
}

interface RunningBuilder {
  /** Set by `.connection(session)`: the builder runs on a session a transaction holds (`trx.table()`). */
  _connection?: unknown;
  client?: { transacting?: boolean };
  on(event: string, listener: (...args: never[]) => void): void;
}

interface RanQuery {
  sql: string;
  bindings?: readonly unknown[];
}

const followed = new WeakSet<object>();

/**
 * Reports what knex runs itself (builders an application awaits, from `connection.knex`
 * or `trx.table()`) as query events; polyrecord's own builders go through `runBuilder`.
 * A builder is followed only when someone listens as it starts: with nobody listening,
 * knex's `start` costs one check.
 */
export function reportKnexQueries(knex: Knex, reporter: KnexQueryReporter): void {
  knex.on('start', (builder: RunningBuilder) => {
    if (!reporter.listening() || followed.has(builder)) return;
    followed.add(builder);
    const inTransaction = builder._connection !== undefined || builder.client?.transacting === true;
    // A builder runs its statements one after another, so one start time at a time.
    let start = 0;
    builder.on('query', () => (start = performance.now()));
    // By the time knex answers, it has rewritten the query's text into the dialect's placeholders.
    builder.on('query-response', (response: unknown, query: RanQuery) => reporter.report(query.sql, query.bindings ?? [], inTransaction, start, knexCounts(response), undefined));
    builder.on('query-error', (error: unknown, query: RanQuery) => reporter.report(query.sql, query.bindings ?? [], inTransaction, start, undefined, error));
  });
}

/**
 * Rows and changes in what knex resolved with: an array of rows (or of inserted ids), a
 * count of changed rows, PostgreSQL's raw result, or mysql2's `[rows or header, fields]`.
 */
export function knexCounts(response: unknown): ReplyCounts {
  if (typeof response === 'number') return { rows: 0, affected: response };
  if (Array.isArray(response)) {
    const first: unknown = response[0];
    if (response.length === 2 && (Array.isArray(first) || isHeader(first))) return knexCounts(first);
    return { rows: response.length, affected: 0 };
  }
  if (isHeader(response)) return { rows: 0, affected: response.affectedRows };
  if (response !== null && typeof response === 'object' && Array.isArray((response as { rows?: unknown }).rows)) {
    const result = response as { rows: unknown[]; rowCount?: number | null; command?: string };
    return result.command === 'SELECT' || result.rows.length > 0 ? { rows: result.rows.length, affected: 0 } : { rows: 0, affected: result.rowCount ?? 0 };
  }
  return { rows: 0, affected: 0 };
}

function isHeader(value: unknown): value is { affectedRows: number } {
  return value !== null && typeof value === 'object' && typeof (value as { affectedRows?: unknown }).affectedRows === 'number';
}
