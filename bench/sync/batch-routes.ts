/**
 * Where the batch-sync benchmark copies from and to: the routes, which of them a run can
 * take, the seeded sources (shared by the routes that read the same kind) and the fresh
 * target databases, with what each dialect needs (knex client, statements).
 */
import { join } from 'node:path';
import createKnex, { type Knex } from 'knex';
import { ConnectionManager } from 'polyrecord';
import { serverConnection } from '../targets.js';
import { createTargetTable, seedPostgresSource, seedSqliteSource } from './batch-models.js';
import { SERVER_VARIABLES, freshMysql, freshPostgres, sleep, type FreshDatabase, type ServerUrls } from './support.js';

const STATS_FLUSH_MS = 1_500;

type SourceDialect = 'sqlite' | 'postgresql';
type TargetDialect = 'postgresql' | 'mysql';

export interface Route {
  /** As written in BENCH_SYNC_ROUTES. */
  readonly id: string;
  readonly label: string;
  readonly source: SourceDialect;
  readonly target: TargetDialect;
}

export const ROUTES: readonly Route[] = [
  { id: 'sqlite-pg', label: 'SQLite file → PostgreSQL', source: 'sqlite', target: 'postgresql' },
  { id: 'sqlite-mysql', label: 'SQLite file → MariaDB', source: 'sqlite', target: 'mysql' },
  { id: 'pg-mysql', label: 'PostgreSQL → MariaDB', source: 'postgresql', target: 'mysql' },
];

const SERVER: Record<SourceDialect | TargetDialect, keyof ServerUrls | undefined> = { sqlite: undefined, postgresql: 'pg', mysql: 'mysql' };

/**
 * The routes to run: those named in `asked` (BENCH_SYNC_ROUTES, comma-separated; a named
 * route whose server URL is missing is an error), else every route whose servers are set,
 * with a line for each one skipped.
 */
export function chooseRoutes(urls: ServerUrls, asked: string | undefined): { run: Route[]; skipped: string[] } {
  const names = asked?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const name of names ?? []) {
    if (!ROUTES.some((r) => r.id === name)) throw new Error(`BENCH_SYNC_ROUTES: unknown route "${name}"; use ${ROUTES.map((r) => r.id).join(', ')}`);
  }
  const run: Route[] = [];
  const skipped: string[] = [];
  for (const route of ROUTES) {
    if (names?.length && !names.includes(route.id)) continue;
    const missing = [...new Set([SERVER[route.source], SERVER[route.target]])].filter((s): s is keyof ServerUrls => s !== undefined && !urls[s]);
    if (missing.length === 0) run.push(route);
    else {
      const reason = `${route.id} (${route.label}) skipped: set ${missing.map((s) => SERVER_VARIABLES[s]).join(' and ')}`;
      if (names?.length) throw new Error(`BENCH_SYNC_ROUTES includes ${reason}`);
      skipped.push(reason);
    }
  }
  return { run, skipped };
}

/** A seeded source: its polyrecord connection name and a knex instance on it. */
export interface SyncSource {
  readonly connection: string;
  readonly knex: Knex;
}

type Defer = (cleanup: () => Promise<unknown> | unknown) => void;

/** Seeds each (dialect, row count) source once, when a route first asks for it, and remembers how long seeding took. */
export class SourceCatalog {
  readonly #sources = new Map<string, SyncSource>();
  readonly #seeded: string[] = [];

  constructor(
    private readonly urls: ServerUrls,
    private readonly dir: string,
    private readonly defer: Defer,
  ) {}

  /** One line per seeded source: what, how many rows, how long. */
  get seeded(): readonly string[] {
    return this.#seeded;
  }

  async get(dialect: SourceDialect, rows: number): Promise<SyncSource> {
    const id = `${dialect}_${rows}`;
    const known = this.#sources.get(id);
    if (known) return known;
    const started = performance.now();
    const connection = `xs_src_${id}`;
    let knex: Knex;
    if (dialect === 'sqlite') {
      const file = join(this.dir, `source-${rows}.sqlite`);
      seedSqliteSource(file, rows);
      ConnectionManager.configure(connection, { driver: 'sqlite', database: file });
      knex = createKnex({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true });
    } else {
      const db = await freshPostgres(this.urls.pg!, `src_${rows}`);
      this.defer(() => db.drop());
      ConnectionManager.configure(connection, { url: db.url, pool: { min: 0, max: 4 } });
      knex = db.knex();
      await seedPostgresSource(knex, rows);
      await knex.raw('CHECKPOINT');
    }
    this.defer(() => ConnectionManager.remove(connection));
    this.defer(() => knex.destroy());
    const source = { connection, knex };
    this.#sources.set(id, source);
    this.#seeded.push(`${dialect === 'sqlite' ? 'SQLite file' : 'PostgreSQL table'} of ${rows.toLocaleString('en')} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return source;
  }
}

/** What differs between the target servers. */
const TARGET_DIALECT: Record<TargetDialect, {
  fresh: (serverUrl: string) => Promise<FreshDatabase>;
  /** The knex loop's connection: on MariaDB in UTC, as polyrecord writes DATETIME. */
  knex: (url: string, pool: { min: number; max: number }) => Knex;
  /** Statistics of the empty table, as a migration or maintenance job leaves them. */
  analyze: (table: string) => string;
  /** Run before each measured run so that no earlier run's dirty pages are written during it. */
  settle: string | undefined;
  /** Rows of `table` read by sequential scans so far, where the server counts them. */
  sequentialReads: ((knex: Knex, table: string) => Promise<number>) | undefined;
}> = {
  postgresql: {
    fresh: (serverUrl) => freshPostgres(serverUrl),
    knex: (url, pool) => createKnex({ client: 'pg', connection: serverConnection(url), pool }),
    analyze: (table) => `VACUUM ANALYZE ${table}`,
    settle: 'CHECKPOINT',
    sequentialReads: async (knex, table) => {
      // A session publishes its table counters about a second after it goes idle (PostgreSQL 15).
      await sleep(STATS_FLUSH_MS);
      const { rows } = await knex.raw('SELECT seq_tup_read FROM pg_stat_user_tables WHERE relname = ?', [table]);
      return Number(rows[0]?.seq_tup_read ?? NaN);
    },
  },
  mysql: {
    fresh: (serverUrl) => freshMysql(serverUrl),
    knex: (url, pool) => createKnex({ client: 'mysql2', connection: { ...(serverConnection(url) as object), timezone: 'Z' }, pool }),
    analyze: (table) => `ANALYZE TABLE ${table}`,
    settle: undefined,
    sequentialReads: undefined,
  },
};

/** A fresh target database: its polyrecord connection name (for the job) and a knex instance (for the loop and the checks). */
export interface SyncTarget {
  readonly dialect: TargetDialect;
  readonly connection: string;
  readonly knex: Knex;
  /** Drops and creates `table`, then analyzes it while still empty. */
  createTable(table: string): Promise<void>;
  settle(): Promise<void>;
  /** Rows of `table` read by sequential scans since it was created (PostgreSQL; undefined on MariaDB). */
  sequentialReads(table: string): Promise<number | undefined>;
}

export async function openTarget(dialect: TargetDialect, urls: ServerUrls, pool: { min: number; max: number }, defer: Defer): Promise<SyncTarget> {
  const spec = TARGET_DIALECT[dialect];
  const db = await spec.fresh((dialect === 'postgresql' ? urls.pg : urls.mysql)!);
  defer(() => db.drop());
  const connection = `xs_dst_${dialect}`;
  ConnectionManager.configure(connection, { url: db.url, pool });
  defer(() => ConnectionManager.remove(connection));
  const knex = spec.knex(db.url, pool);
  defer(() => knex.destroy());
  return {
    dialect,
    connection,
    knex,
    createTable: async (table) => {
      await createTargetTable(knex, table);
      await knex.raw(spec.analyze(table));
    },
    settle: async () => {
      if (spec.settle) await knex.raw(spec.settle);
    },
    sequentialReads: async (table) => spec.sequentialReads?.(knex, table),
  };
}
