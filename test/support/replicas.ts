import { execFileSync } from 'node:child_process';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { DriverName } from '../../src/index.js';
import { mariadbAdmin, postgresAdmin, uniqueName } from './dialects.js';
import { waitFor } from './wait.js';

/**
 * A real primary with a real streaming replica (started by `scripts/replicas.sh start`, which
 * `.ci/run` runs): a fresh database on the primary, the same on the replica once replicated,
 * and control over the replica: pause applying changes (real lag), resume, stop the server.
 */
export interface ReplicaPair {
  readonly driver: DriverName;
  /** Makes a fresh database on the primary and waits until the replica has it too. */
  provision(): Promise<{ primaryUrl: string; replicaUrl: string; drop(): Promise<void> }>;
  /** The replica stops applying what it receives (PostgreSQL `pg_wal_replay_pause()`, MariaDB `STOP SLAVE SQL_THREAD`). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Stops the replica's server, or starts it again. */
  stop(): void;
  start(): void;
}

const script = process.env.POLYRECORD_REPLICA_SCRIPT;
const control = (...args: string[]) => execFileSync('bash', [script!, ...args], { stdio: 'pipe' });
const withPath = (url: string, database: string) => Object.assign(new URL(url), { pathname: `/${database}` }).toString();

async function onPostgres(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function onMariadb(url: string, sql: string): Promise<void> {
  const client = await mysql.createConnection(url);
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Whether `url` accepts a connection (a replica that has the database). */
async function reachable(url: string, driver: DriverName): Promise<boolean> {
  return (driver === 'postgresql' ? onPostgres(url, 'select 1') : onMariadb(url, 'select 1')).then(
    () => true,
    () => false,
  );
}

function pair(driver: DriverName, primary: string, replica: string): ReplicaPair {
  const postgres = driver === 'postgresql';
  const admin = postgres ? postgresAdmin(primary) : mariadbAdmin(primary);
  const onReplica = (sql: string) => (postgres ? onPostgres(replica, sql) : onMariadb(replica, sql));
  return {
    driver,
    async provision() {
      const name = uniqueName();
      await admin([`CREATE DATABASE ${name}`]);
      const replicaUrl = withPath(replica, name);
      await waitFor(() => reachable(replicaUrl, driver), `the replica to have database ${name}`);
      return { primaryUrl: withPath(primary, name), replicaUrl, drop: () => admin([postgres ? `DROP DATABASE IF EXISTS ${name} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${name}`]) };
    },
    pause: () => onReplica(postgres ? 'select pg_wal_replay_pause()' : 'STOP SLAVE SQL_THREAD'),
    resume: () => onReplica(postgres ? 'select pg_wal_replay_resume()' : 'START SLAVE SQL_THREAD'),
    stop: () => void control('stop', postgres ? 'pg-replica' : 'mysql-replica'),
    start: () => void control('restart', postgres ? 'pg-replica' : 'mysql-replica'),
  };
}

/** The replica pairs this run has (set by `scripts/replicas.sh env`); each suite runs once per pair. */
export const REPLICA_PAIRS: ReplicaPair[] = [
  ...(process.env.POLYRECORD_PG_URL && process.env.POLYRECORD_PG_REPLICA_URL && script ? [pair('postgresql', process.env.POLYRECORD_PG_URL, process.env.POLYRECORD_PG_REPLICA_URL)] : []),
  ...(process.env.POLYRECORD_MYSQL_PRIMARY_URL && process.env.POLYRECORD_MYSQL_REPLICA_URL && script ? [pair('mysql', process.env.POLYRECORD_MYSQL_PRIMARY_URL, process.env.POLYRECORD_MYSQL_REPLICA_URL)] : []),
];
