import { ConnectionManager } from '../../src/index.js';

/** The query event as issue 8 names it (being built on another branch). */
export interface QueryEvent {
  connection: string;
  sql: string;
  bindings: readonly unknown[];
  durationMs: number;
  rows: number;
  inTransaction: boolean;
}

type QueryEmitter = { on(event: 'query', fn: (e: QueryEvent) => void): void; off(event: 'query', fn: (e: QueryEvent) => void): void };

async function probe(): Promise<boolean> {
  const manager = new ConnectionManager();
  manager.configure('probe', { driver: 'sqlite', database: ':memory:' });
  let fired = false;
  const events = manager.events as unknown as QueryEmitter;
  const listener = () => (fired = true);
  events.on('query', listener);
  try {
    await manager.get('probe').execute('select 1', [], { prepare: 'never' });
  } finally {
    events.off('query', listener);
    await manager.closeAll();
  }
  return fired;
}

/** Whether `manager.events` emits `'query'` for every statement (issue 8, "Query events"). */
export const hasQueryEvents = await probe();

/** Model statements run so far on the default manager's connections (prepared-statement cache runs: hits + misses). */
function modelStatements(): number {
  return ConnectionManager.status().reduce((sum, s) => sum + s.statements.hits + s.statements.misses, 0);
}

/**
 * The number of statements `fn` sends. With query events: every statement (pivot reads
 * included). Without them: the model statements only (those the statement cache counts),
 * which is every relation query but a many-to-many's pivot read.
 */
export async function countQueries<T>(fn: () => Promise<T>): Promise<{ count: number; sql: string[]; result: T }> {
  if (hasQueryEvents) {
    const sql: string[] = [];
    const events = ConnectionManager.default.events as unknown as QueryEmitter;
    const listener = (e: QueryEvent) => void sql.push(e.sql);
    events.on('query', listener);
    try {
      const result = await fn();
      return { count: sql.length, sql, result };
    } finally {
      events.off('query', listener);
    }
  }
  const before = modelStatements();
  const result = await fn();
  return { count: modelStatements() - before, sql: [], result };
}
