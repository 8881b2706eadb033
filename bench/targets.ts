import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import type { ConnectionConfig } from 'polyrecord';
import type { Dialect, DialectChoice } from './options.js';
import { createServerDatabase, type ServerDialect } from './server-database.js';

/**
 * A database made for one bench run: a SQLite file in a temporary directory, or
 * `polyrecord_bench_<pid>` on a server. Every contender connects to this same
 * database with its own connection (pool); `drop()` removes it.
 */
export interface BenchTarget {
  readonly dialect: Dialect;
  readonly label: string;
  /** File path (SQLite) or URL of the fresh database. */
  readonly location: string;
  /** For `ConnectionManager.configure`. */
  readonly polyrecordConfig: ConnectionConfig;
  /** Plain knex config (a new knex instance per user of it). */
  readonly knexConfig: Knex.Config;
  drop(): Promise<void>;
}

const LABELS: Record<Dialect, string> = { sqlite: 'SQLite', postgresql: 'PostgreSQL', mysql: 'MySQL/MariaDB' };

function databaseName(suffix: string): string {
  return `polyrecord_bench_${process.pid}${suffix}`;
}


/** A knex connection object for a server URL. */
export function serverConnection(url: string): Knex.StaticConnectionConfig {
  const u = new URL(url);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : undefined,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
  } as Knex.StaticConnectionConfig;
}

/** knex's `afterCreate` for SQLite: commit as durably as polyrecord does. */
function fullSync(db: { pragma(sql: string): unknown }, done: (error: Error | null, db: unknown) => void): void {
  db.pragma('synchronous = FULL');
  done(null, db);
}

function sqliteTarget(): BenchTarget {
  const dir = mkdtempSync(join(tmpdir(), 'polyrecord-bench-'));
  const file = join(dir, 'bench.sqlite');
  return {
    dialect: 'sqlite',
    label: LABELS.sqlite,
    location: file,
    polyrecordConfig: { driver: 'sqlite', database: file },
    // Every contender commits as durably as polyrecord does (synchronous = FULL).
    knexConfig: { client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true, pool: { afterCreate: fullSync } },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function serverTarget(dialect: ServerDialect, url: string, suffix: string): Promise<BenchTarget> {
  const { url: location, drop } = await createServerDatabase(dialect, url, databaseName(suffix));
  return {
    dialect,
    label: LABELS[dialect],
    location,
    polyrecordConfig: { url: location },
    knexConfig: { client: dialect === 'postgresql' ? 'pg' : 'mysql2', connection: serverConnection(location) },
    drop,
  };
}

/** Creates the fresh database for one dialect; `suffix` names a second one on the same server (the relation bench's other connection). */
export function provisionTarget(choice: DialectChoice, suffix = ''): Promise<BenchTarget> {
  switch (choice.dialect) {
    case 'sqlite':
      return Promise.resolve(sqliteTarget());
    case 'postgresql':
      return serverTarget('postgresql', choice.url!, suffix);
    case 'mysql':
      return serverTarget('mysql', choice.url!, suffix);
  }
}
