import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { DriverName } from '../../src/index.js';

/**
 * Throwaway login users with a real password on the local servers, for tests that need
 * the driver to send (and the server to check) a password. `drop()` removes them.
 */
export interface ServerUser {
  readonly username: string;
  readonly password: string;
  drop(): Promise<void>;
}

/** The admin URL of a server dialect in this run (the suites' POLYRECORD_*_URL). */
export function adminUrl(driver: DriverName): string {
  const url = driver === 'postgresql' ? process.env.POLYRECORD_PG_URL : driver === 'mysql' ? process.env.POLYRECORD_MYSQL_URL : undefined;
  if (!url) throw new Error(`no server URL for ${driver}`);
  return url;
}

/** A URL for `driver`'s server in this run with other credentials and database (each part percent-encoded here). */
export function serverUrl(driver: DriverName, parts: { username: string; password?: string; database: string }): string {
  const url = new URL(adminUrl(driver));
  url.username = encodeURIComponent(parts.username);
  url.password = parts.password === undefined ? '' : encodeURIComponent(parts.password);
  url.pathname = `/${encodeURIComponent(parts.database)}`;
  return url.toString();
}

/** A fresh user name that no server has. */
export function uniqueUserName(): string {
  return `pr_user_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Creates a login user with `password` on `driver`'s server (no privileges on any database). */
export async function createServerUser(driver: DriverName, password: string): Promise<ServerUser> {
  const username = uniqueUserName();
  const url = adminUrl(driver);
  if (driver === 'postgresql') {
    const admin = async (sql: (client: pg.Client) => string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(sql(client));
      } finally {
        await client.end();
      }
    };
    await admin((c) => `CREATE ROLE ${c.escapeIdentifier(username)} LOGIN PASSWORD ${c.escapeLiteral(password)}`);
    return { username, password, drop: () => admin((c) => `DROP ROLE IF EXISTS ${c.escapeIdentifier(username)}`) };
  }
  if (driver === 'mysql') {
    const admin = async (sql: string, values: unknown[]) => {
      const client = await mysql.createConnection(url);
      try {
        await client.query(sql, values);
      } finally {
        await client.end();
      }
    };
    await admin('CREATE USER ?@? IDENTIFIED BY ?', [username, '%', password]);
    return { username, password, drop: () => admin('DROP USER IF EXISTS ?@?', [username, '%']) };
  }
  throw new Error(`${driver} has no users`);
}
