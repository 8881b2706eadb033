/**
 * Helpers shared by the extra benchmarks (bench/sync, bench/cross-db, bench/run-extra.ts):
 * fresh server databases, the result shape run-extra.ts renders, small statistics.
 */
import createKnex, { type Knex } from 'knex';
import { OUTBOX_TABLE } from 'polyrecord';
import type { GoalCheck } from '../goals.js';
import { createServerDatabase, type ServerDialect } from '../server-database.js';
import { serverConnection } from '../targets.js';

export type { GoalCheck };

/** What one extra benchmark hands to run-extra.ts: one Markdown table plus notes and goal checks. */
export interface ExtraResult {
  readonly title: string;
  /** Lines printed above the table (setup, what is measured). */
  readonly notes: readonly string[];
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly goals: readonly GoalCheck[];
}

/** The server URLs a run was given. */
export interface ServerUrls {
  readonly pg: string | undefined;
  readonly mysql: string | undefined;
  /** A streaming standby of `pg` (scripts/replicas.sh). */
  readonly pgReplica: string | undefined;
  /** NATS with JetStream, e.g. nats://127.0.0.1:4222. */
  readonly nats: string | undefined;
  /** RabbitMQ, e.g. amqp://guest:guest@127.0.0.1:5672. */
  readonly amqp: string | undefined;
}

/** The variable that gives each server's URL. */
export const SERVER_VARIABLES: Readonly<Record<keyof ServerUrls, string>> = { pg: 'POLYRECORD_PG_URL', mysql: 'POLYRECORD_MYSQL_URL', pgReplica: 'POLYRECORD_PG_REPLICA_URL', nats: 'POLYRECORD_NATS_URL', amqp: 'POLYRECORD_AMQP_URL' };

export const log = (message: string) => process.stderr.write(`${message}\n`);
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Every database this process creates is named `polyrecord_bench_x_<pid>` plus an optional suffix. */
export function benchDatabaseName(suffix = ''): string {
  return `polyrecord_bench_x_${process.pid}${suffix ? `_${suffix}` : ''}`;
}

/** A database created for one benchmark; `drop()` removes it (idempotent). */
export interface FreshDatabase {
  readonly dialect: 'postgresql' | 'mysql';
  readonly name: string;
  /** URL of the fresh database. */
  readonly url: string;
  /** A new knex instance on it (the bench's own connection; destroy it yourself). */
  knex(pool?: { min: number; max: number }): Knex;
  drop(): Promise<void>;
}

// Databases created and not dropped yet, so that run-extra.ts can drop what a timed-out benchmark left.
const undropped = new Set<FreshDatabase>();

/** Drops every database a benchmark created and has not dropped (after a timeout). */
export async function dropLeftovers(): Promise<void> {
  for (const db of [...undropped]) await db.drop().catch((error: unknown) => log(`dropping ${db.name}: ${String(error)}`));
}

function tracked(db: FreshDatabase): FreshDatabase {
  const drop = db.drop;
  const entry: FreshDatabase = {
    ...db,
    drop: async () => {
      await drop();
      undropped.delete(entry);
    },
  };
  undropped.add(entry);
  return entry;
}

async function freshServerDatabase(dialect: ServerDialect, serverUrl: string, suffix: string): Promise<FreshDatabase> {
  const name = benchDatabaseName(suffix);
  const { url, drop } = await createServerDatabase(dialect, serverUrl, name);
  const client = dialect === 'postgresql' ? 'pg' : 'mysql2';
  return tracked({ dialect, name, url, knex: (pool = { min: 0, max: 4 }) => createKnex({ client, connection: serverConnection(url), pool }), drop });
}

export const freshPostgres = (serverUrl: string, suffix = ''): Promise<FreshDatabase> => freshServerDatabase('postgresql', serverUrl, suffix);
export const freshMysql = (serverUrl: string, suffix = ''): Promise<FreshDatabase> => freshServerDatabase('mysql', serverUrl, suffix);

/** Runs `fn` with cleanups registered along the way, then runs them in reverse order (also after a failure). */
export async function withCleanup<T>(fn: (defer: (cleanup: () => Promise<unknown> | unknown) => void) => Promise<T>): Promise<T> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  try {
    return await fn((cleanup) => cleanups.push(cleanup));
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

/** The value below which `p` percent of `sorted` (ascending) lie (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`bench check failed: ${message}`);
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en'),
  ms: (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(2)),
  x: (n: number) => `${n.toFixed(2)}x`,
  mb: (n: number) => n.toFixed(1),
  pct: (n: number) => `${(n * 100).toFixed(0)}%`,
  s: (ms: number) => (ms / 1000).toFixed(1),
};

/** A positive integer from the environment, or the default. */
export function envInt(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer (got ${JSON.stringify(value)})`);
  return n;
}

/** The save loops that write an outbox backlog side by side (several sessions, like an application's requests). */
export const SEED_LOOPS = 16;

/** A model with an outbox whose records the bench creates and then saves again. */
interface SeededModel<T> {
  create(values: Record<string, unknown>): Promise<T>;
}

/**
 * Writes an outbox backlog through the model API: `records` records, each created and then
 * saved `updates` more times with `values(n, version)`, in {@link SEED_LOOPS} loops at once.
 * Resolves with the milliseconds it took.
 */
export async function seedBacklog<T extends { save(): Promise<unknown> }>(model: SeededModel<T>, records: number, updates: number, values: (n: number, version: number) => Record<string, unknown>): Promise<number> {
  const started = performance.now();
  const loop = async (first: number) => {
    for (let n = first; n < records; n += SEED_LOOPS) {
      const item = await model.create(values(n, 0));
      for (let version = 1; version <= updates; version++) {
        Object.assign(item, values(n, version));
        await item.save();
      }
    }
  };
  await Promise.all(Array.from({ length: SEED_LOOPS }, (_, i) => loop(i)));
  return performance.now() - started;
}

/** Outbox events not delivered yet. */
export async function pendingEvents(source: Knex): Promise<number> {
  const [row] = await source(OUTBOX_TABLE).where({ status: 'pending' }).count({ n: '*' });
  return Number(row?.n ?? 0);
}
