import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { ConnectionConfig } from 'polyrecord';
import type { Dialect, DialectChoice } from './options.js';

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

function databaseName(): string {
  return `polyrecord_bench_${process.pid}`;
}

/** The server URL with another database in its path. */
export function withDatabase(url: string, database: string): string {
  const copy = new URL(url);
  copy.pathname = `/${database}`;
  return copy.toString();
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

function sqliteTarget(): BenchTarget {
  const dir = mkdtempSync(join(tmpdir(), 'polyrecord-bench-'));
  const file = join(dir, 'bench.sqlite');
  return {
    dialect: 'sqlite',
    label: LABELS.sqlite,
    location: file,
    polyrecordConfig: { driver: 'sqlite', database: file },
    knexConfig: { client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresTarget(url: string): Promise<BenchTarget> {
  const name = databaseName();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const location = withDatabase(url, name);
  return {
    dialect: 'postgresql',
    label: LABELS.postgresql,
    location,
    polyrecordConfig: { url: location },
    knexConfig: { client: 'pg', connection: serverConnection(location) },
    drop: async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

async function mysqlTarget(url: string): Promise<BenchTarget> {
  const name = databaseName();
  const admin = await mysql.createConnection(url);
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  } finally {
    await admin.end();
  }
  const location = withDatabase(url, name);
  return {
    dialect: 'mysql',
    label: LABELS.mysql,
    location,
    polyrecordConfig: { url: location },
    knexConfig: { client: 'mysql2', connection: serverConnection(location) },
    drop: async () => {
      const client = await mysql.createConnection(url);
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name}`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Creates the fresh database for one dialect. */
export function provisionTarget(choice: DialectChoice): Promise<BenchTarget> {
  switch (choice.dialect) {
    case 'sqlite':
      return Promise.resolve(sqliteTarget());
    case 'postgresql':
      return postgresTarget(choice.url!);
    case 'mysql':
      return mysqlTarget(choice.url!);
  }
}
