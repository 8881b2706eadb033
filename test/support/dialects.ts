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

function uniqueName(): string {
  return `pr_${process.pid}_${randomBytes(4).toString('hex')}`;
}

function postgres(url: string): DialectFixture {
  return {
    driver: 'postgresql',
    async provision(count) {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      const names = Array.from({ length: count }, uniqueName);
      for (const name of names) await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const base = new URL(url);
      return {
        configs: names.map((name) => ({ url: Object.assign(new URL(base), { pathname: `/${name}` }).toString() })),
        drop: async () => {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await client.end();
        },
      };
    },
  };
}

function mariadb(url: string): DialectFixture {
  return {
    driver: 'mysql',
    async provision(count) {
      const admin = await mysql.createConnection(url);
      const names = Array.from({ length: count }, uniqueName);
      for (const name of names) await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const base = new URL(url);
      return {
        configs: names.map((name) => ({ url: Object.assign(new URL(base), { pathname: `/${name}` }).toString() })),
        drop: async () => {
          const client = await mysql.createConnection(url);
          for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${name}`);
          await client.end();
        },
      };
    },
  };
}

/** The dialects enabled in this run: SQLite always, servers when their URL is set. */
export const DIALECTS: DialectFixture[] = [
  sqlite,
  ...(process.env.POLYRECORD_PG_URL ? [postgres(process.env.POLYRECORD_PG_URL)] : []),
  ...(process.env.POLYRECORD_MYSQL_URL ? [mariadb(process.env.POLYRECORD_MYSQL_URL)] : []),
];

/** Declares one behaviour suite per enabled dialect. */
export function describeEachDialect(title: string, suite: (dialect: DialectFixture) => void): void {
  for (const dialect of DIALECTS) describe(`${title} [${dialect.driver}]`, () => suite(dialect));
}

/** Server dialects only (features SQLite cannot have). */
export const SERVER_DIALECTS = DIALECTS.filter((d) => d.driver !== 'sqlite');
