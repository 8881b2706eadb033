import mysql from 'mysql2/promise';
import pg from 'pg';

/** A database server the bench can create databases on. */
export type ServerDialect = 'postgresql' | 'mysql';

const CREATE: Record<ServerDialect, (name: string) => string> = {
  postgresql: (name) => `CREATE DATABASE ${name}`,
  mysql: (name) => `CREATE DATABASE ${name} CHARACTER SET utf8mb4`,
};

const DROP: Record<ServerDialect, (name: string) => string> = {
  postgresql: (name) => `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`,
  mysql: (name) => `DROP DATABASE IF EXISTS ${name}`,
};

/** Runs admin statements on a server over a fresh connection, closed afterwards. */
async function admin(dialect: ServerDialect, serverUrl: string, statements: string[]): Promise<void> {
  if (dialect === 'postgresql') {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      for (const sql of statements) await client.query(sql);
    } finally {
      await client.end();
    }
    return;
  }
  const client = await mysql.createConnection(serverUrl);
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The server URL with another database in its path. */
export function withDatabase(url: string, database: string): string {
  const copy = new URL(url);
  copy.pathname = `/${database}`;
  return copy.toString();
}

/** (Re)creates database `name` on the server; resolves with its URL and a `drop()`. */
export async function createServerDatabase(dialect: ServerDialect, serverUrl: string, name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  await admin(dialect, serverUrl, [DROP[dialect](name), CREATE[dialect](name)]);
  return { url: withDatabase(serverUrl, name), drop: () => admin(dialect, serverUrl, [DROP[dialect](name)]) };
}
