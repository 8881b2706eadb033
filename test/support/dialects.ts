import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe } from 'vitest';
import type { ConnectionConfig, DriverName } from '../../src/index.js';

/**
 * A database server (or SQLite) the behaviour suites run against. `provision(n)` makes
 * `n` fresh, empty databases for one test file and `drop()` removes them, so files can
 * run in parallel without sharing tables.
 */
export interface DialectFixture {
  readonly driver: DriverName;
  provision(count: number): Promise<{ configs: ConnectionConfig[]; drop(): Promise<void> }>;
}

const sqlite: DialectFixture = {
  driver: 'sqlite',
  async provision(count) {
    const dir = mkdtempSync(join(tmpdir(), 'polyrecord-test-'));
    return {
      configs: Array.from({ length: count }, (_, i) => ({ driver: 'sqlite' as const, database: join(dir, `db${i}.sqlite`) })),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

export function uniqueName(): string {
  return `pr_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Runs admin statements on a server (a fresh connection each time, closed afterwards). */
type AdminRunner = (statements: string[]) => Promise<void>;

export const postgresAdmin = (url: string): AdminRunner => async (statements) => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
};

export const mariadbAdmin = (url: string): AdminRunner => async (statements) => {
  const client = await mysql.createConnection(url);
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
};

/** A server fixture: fresh databases per test file, addressed by the server URL with another path. */
function server(driver: DriverName, url: string, admin: AdminRunner, dropStatement: (name: string) => string): DialectFixture {
  return {
    driver,
    async provision(count) {
      const names = Array.from({ length: count }, uniqueName);
      await admin(names.map((name) => `CREATE DATABASE ${name}`));
      return {
        configs: names.map((name) => ({ url: Object.assign(new URL(url), { pathname: `/${name}` }).toString() })),
        drop: () => admin(names.map(dropStatement)),
      };
    },
  };
}

/** The dialects enabled in this run: SQLite always, servers when their URL is set. */
export const DIALECTS: DialectFixture[] = [
  sqlite,
  ...(process.env.POLYRECORD_PG_URL ? [server('postgresql', process.env.POLYRECORD_PG_URL, postgresAdmin(process.env.POLYRECORD_PG_URL), (name) => `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)] : []),
  ...(process.env.POLYRECORD_MYSQL_URL ? [server('mysql', process.env.POLYRECORD_MYSQL_URL, mariadbAdmin(process.env.POLYRECORD_MYSQL_URL), (name) => `DROP DATABASE IF EXISTS ${name}`)] : []),
];

/** Declares one behaviour suite per enabled dialect. */
export function describeEachDialect(title: string, suite: (dialect: DialectFixture) => void): void {
  for (const dialect of DIALECTS) describe(`${title} [${dialect.driver}]`, () => suite(dialect));
}

/** Server dialects only (features SQLite cannot have). */
export const SERVER_DIALECTS = DIALECTS.filter((d) => d.driver !== 'sqlite');
