import net from 'node:net';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, QueryError, ScatterCancelledError, ScatterError, ScatterTimeoutError, scatter, type DriverName } from '../src/index.js';
import { DIALECTS, SERVER_DIALECTS, describeEachDialect, type DialectFixture } from './support/dialects.js';

/** One row per database: the table every scatter query reads. */
@Model({ connection: 'a', table: 'naps' })
class Nap extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) label!: string;
}

/** What a sleeping statement reports: when the server started and ended it, in epoch milliseconds. */
@Model({ connection: 'a', table: 'naps' })
class Interval extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'float' }) started!: number;
  @Column({ type: 'float' }) ended!: number;
}

type ServerDriver = Exclude<DriverName, 'sqlite'>;

/** A statement sleeping `seconds` on the server and returning the server's start and end times. */
const SLEEP_WITH_CLOCK: Record<ServerDriver, (seconds: number) => string> = {
  postgresql: (s) => `select 1 as id, extract(epoch from now())::float8 * 1000 as started, (select extract(epoch from clock_timestamp())::float8 * 1000 from pg_sleep(${s})) as ended`,
  mysql: (s) => `select 1 as id, unix_timestamp(now(6)) * 1000 as started, if(sleep(${s}) = 0, unix_timestamp(sysdate(6)) * 1000, null) as ended`,
};

/** A where clause that sleeps `?` seconds once (the table has one row), tagged with a marker to find the statement on the server. */
const SLEEPING_CONDITION: Record<ServerDriver, (marker: string) => string> = {
  postgresql: (marker) => `(select true from pg_sleep(?)) and '${marker}' <> ''`,
  mysql: (marker) => `sleep(?) = 0 and '${marker}' <> ''`,
};

/**
 * Resolves once the server runs no statement containing `marker` (other than the asking
 * one). A cancelled statement answers with its error a moment before its server session
 * is idle again, so this looks a few times; a statement left running would sleep 20 s.
 */
async function stoppedOnServer(connection: string, driver: ServerDriver, marker: string): Promise<void> {
  await vi.waitFor(async () => expect(await runningOnServer(connection, driver, marker)).toBe(0), { timeout: 5_000, interval: 50 });
}

/** How many statements containing `marker` the server is running now (other than the asking one). */
async function runningOnServer(connection: string, driver: ServerDriver, marker: string): Promise<number> {
  const sql = {
    postgresql: `select count(*)::int as n from pg_stat_activity where state = 'active' and pid <> pg_backend_pid() and query like '%${marker}%'`,
    mysql: `select count(*) as n from information_schema.processlist where id <> connection_id() and info like '%${marker}%'`,
  }[driver];
  const { rows } = await ConnectionManager.get(connection).execute(sql, []);
  return Number(rows[0]!.n);
}

function expectNoSessionInUse(...connections: string[]): void {
  for (const name of connections) expect(ConnectionManager.get(name).status().pool?.used ?? 0, name).toBe(0);
}

async function provisionNaps(dialect: DialectFixture, names: string[]): Promise<() => Promise<void>> {
  const provisioned = await dialect.provision(names.length);
  for (const [i, name] of names.entries()) {
    ConnectionManager.configure(name, provisioned.configs[i]!);
    const knex = ConnectionManager.get(name).knex;
    await knex.schema.createTable('naps', (t) => {
      t.integer('id').primary();
      t.string('label', 64);
    });
    await knex('naps').insert({ id: 1, label: name });
  }
  return provisioned.drop;
}

describeEachDialect('scatter', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    drop = await provisionNaps(dialect, ['a', 'b']);
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  it('runs queries and functions on several connections and reports each', async () => {
    const { results, stats } = await scatter({
      a: Nap.where({ id: 1 }),
      b: () => Nap.using('b').all(),
      none: Nap.using('b').where({ id: 2 }),
    });
    expect(results.a.map((n) => n.label)).toEqual(['a']);
    expect(results.a[0]).toBeInstanceOf(Nap);
    expect(results.b.map((n) => n.label)).toEqual(['b']);
    expect(results.none).toEqual([]);
    expect(stats.a).toMatchObject({ connection: 'a', rows: 1 });
    expect(stats.a.error).toBeUndefined();
    // A function entry's connection is the one its records were read from.
    expect(stats.b).toMatchObject({ connection: 'b', rows: 1 });
    expect(stats.none).toMatchObject({ connection: 'b', rows: 0 });
    expect(Object.keys(stats)).toEqual(['a', 'b', 'none']);
    for (const stat of Object.values(stats)) expect(stat.ms).toBeGreaterThanOrEqual(0);
    expectNoSessionInUse('a', 'b');
  });

  it('with partial, reports a failing query in stats and returns what succeeded', async () => {
    const { results, stats } = await scatter({ good: Nap.using('b').query(), broken: Nap.whereRaw('no_such_column = 1') }, { partial: true });
    expect(results.good?.map((n) => n.label)).toEqual(['b']);
    expect('broken' in results).toBe(false);
    expect(stats.broken.error).toBeInstanceOf(QueryError);
    expect(stats.broken).toMatchObject({ connection: 'a', rows: 0 });
    expectNoSessionInUse('a', 'b');
  });

  it('without partial, rejects with a ScatterError carrying the failure and every stat', async () => {
    const error = await scatter({ good: Nap.using('b').query(), broken: Nap.whereRaw('no_such_column = 1') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScatterError);
    const scatterError = error as ScatterError;
    expect(scatterError.code).toBe('E_SCATTER');
    expect(scatterError.entry).toBe('broken');
    expect(scatterError.cause).toBeInstanceOf(QueryError);
    expect(scatterError.stats.broken!.error).toBe(scatterError.cause);
    expect(Object.keys(scatterError.stats).sort()).toEqual(['broken', 'good']);
    expectNoSessionInUse('a', 'b');
  });

  it('refuses entries that are neither queries nor functions, and bad options', async () => {
    await expect(scatter({ started: Promise.resolve([]) } as never)).rejects.toThrow(/must be a model query or a function/);
    await expect(scatter({ a: Nap.query() }, { concurrency: 0 })).rejects.toThrow(/concurrency/);
    await expect(scatter({ a: Nap.query() }, { timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
  });

  it('a function entry that never settles is abandoned at timeoutMs and reported as timed out', async () => {
    const { results, stats } = await scatter({ a: Nap.query(), stuck: () => new Promise<never>(() => undefined) }, { timeoutMs: 50, partial: true });
    expect(results.a).toHaveLength(1);
    expect(stats.stuck.error).toBeInstanceOf(ScatterTimeoutError);
    expect(stats.stuck.error).toMatchObject({ code: 'E_SCATTER_TIMEOUT', entry: 'stuck', timeoutMs: 50, started: true });
  });

  if (dialect.driver === 'sqlite') {
    it('SQLite: a query still waiting for the connection at timeoutMs never runs; one that started completes', async () => {
      const connection = ConnectionManager.get('a');
      const db = (await connection.acquire()) as Database.Database;
      let probed = 0;
      db.function('probe', () => ++probed);
      connection.release(db);

      let finish!: () => void;
      const held = new Promise<void>((resolve) => (finish = resolve));
      // A transaction holds SQLite's one connection while the scatter runs.
      const transaction = ConnectionManager.transaction('a', () => held);
      const { stats } = await scatter({ waiting: Nap.whereRaw('probe() > 0') }, { timeoutMs: 30, partial: true });
      expect(stats.waiting.error).toBeInstanceOf(ScatterTimeoutError);
      finish();
      await transaction;
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(probed).toBe(0);
      expectNoSessionInUse('a');

      // Nothing can interrupt a SQLite statement: one that ran returns its rows whatever the timeout.
      const { results } = await scatter({ counted: Nap.whereRaw('probe() > 0 and (with recursive n(i) as (select 1 union all select i + 1 from n where i < 200000) select count(*) from n) > 0') }, { timeoutMs: 1 });
      expect(results.counted).toHaveLength(1);
      expect(probed).toBe(1);
    });
  } else {
    const driver = dialect.driver as ServerDriver;

    it('runs the queries at the same time: their intervals on the server overlap', async () => {
      const { results } = await scatter({
        first: () => Interval.rawQuery(SLEEP_WITH_CLOCK[driver](0.4)),
        second: () => Interval.using('b').rawQuery(SLEEP_WITH_CLOCK[driver](0.4)),
        third: () => Interval.rawQuery(SLEEP_WITH_CLOCK[driver](0.4)),
      });
      const intervals = [results.first[0]!, results.second[0]!, results.third[0]!];
      // Every statement started before every other one ended.
      for (const x of intervals) for (const y of intervals) expect(x.started).toBeLessThan(y.ended);
      expectNoSessionInUse('a', 'b');
    });

    it('concurrency 1 runs them one after the other: no two intervals overlap', async () => {
      const { results } = await scatter(
        {
          first: () => Interval.rawQuery(SLEEP_WITH_CLOCK[driver](0.1)),
          second: () => Interval.using('b').rawQuery(SLEEP_WITH_CLOCK[driver](0.1)),
        },
        { concurrency: 1 },
      );
      expect(results.first[0]!.ended).toBeLessThanOrEqual(results.second[0]!.started);
    });

    it('timeoutMs cancels a running query on the server and gives its session back', async () => {
      const marker = `scatter-timeout-${driver}`;
      const { results, stats } = await scatter({ slow: Nap.whereRaw(SLEEPING_CONDITION[driver](marker), [20]), fast: Nap.using('b').query() }, { timeoutMs: 300, partial: true });
      expect(results.fast).toHaveLength(1);
      expect(results.slow).toBeUndefined();
      const error = stats.slow.error as ScatterTimeoutError;
      expect(error).toBeInstanceOf(ScatterTimeoutError);
      expect(error).toMatchObject({ entry: 'slow', connection: 'a', timeoutMs: 300, started: true });
      // The server stopped the statement (it would sleep 20 s otherwise), and the cancelled query's error is the cause.
      await stoppedOnServer('b', driver, marker);
      expect(error.cause).toBeInstanceOf(QueryError);
      expectNoSessionInUse('a', 'b');
      // The session that ran it is usable again.
      expect(await Nap.all()).toHaveLength(1);
    });

    it('a function entry that overruns has its running statement cancelled on the server too', async () => {
      const marker = `scatter-fn-timeout-${driver}`;
      const { stats } = await scatter({ slow: () => Nap.using('b').whereRaw(SLEEPING_CONDITION[driver](marker), [20]).all() }, { timeoutMs: 300, partial: true });
      expect(stats.slow.error).toBeInstanceOf(ScatterTimeoutError);
      // The statement failed as cancelled (left to run, it would have returned its row after 20 s).
      expect((stats.slow.error as ScatterTimeoutError).cause).toBeInstanceOf(QueryError);
      await stoppedOnServer('a', driver, marker);
      expectNoSessionInUse('a', 'b');
    });

    it('without partial, the first failure cancels the queries still running before it rejects', async () => {
      const marker = `scatter-sibling-${driver}`;
      const error = (await scatter({ slow: Nap.using('b').whereRaw(SLEEPING_CONDITION[driver](marker), [20]), broken: Nap.whereRaw('no_such_column = 1') }).catch((e: unknown) => e)) as ScatterError;
      expect(error).toBeInstanceOf(ScatterError);
      expect(error.entry).toBe('broken');
      expect(error.cause).toBeInstanceOf(QueryError);
      expect(error.stats.slow!.error).toBeInstanceOf(ScatterCancelledError);
      expect(error.stats.slow!.error).not.toBeInstanceOf(ScatterTimeoutError);
      expect(error.stats.slow!.error).toMatchObject({ entry: 'slow', started: true });
      expect((error.stats.slow!.error as ScatterCancelledError).cause).toBeInstanceOf(QueryError);
      await stoppedOnServer('a', driver, marker);
      expectNoSessionInUse('a', 'b');
    });

    it('entries not started when a failure stops the scatter never run', async () => {
      const error = (await scatter({ broken: Nap.whereRaw('no_such_column = 1'), later: Nap.using('b').query() }, { concurrency: 1 }).catch((e: unknown) => e)) as ScatterError;
      expect(error.stats.later).toMatchObject({ ms: 0, rows: undefined });
      expect(error.stats.later!.error).toMatchObject({ started: false });
    });
  }
});

/** A TCP port that accepts connections and never says a word: a server that hangs. */
async function silentPort(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('scatter with a server that never answers', () => {
  let silent: Awaited<ReturnType<typeof silentPort>>;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    silent = await silentPort();
    drop = await provisionNaps(DIALECTS[0]!, ['a']);
    ConnectionManager.configure('hung', { driver: 'postgresql', host: '127.0.0.1', port: silent.port, database: 'x', username: 'u', connectTimeoutMs: 400 });
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await silent.close();
    await drop();
  });

  it('with timeoutMs, the hung entry is reported as timed out and the others return', async () => {
    const { results, stats } = await scatter({ local: Nap.query(), hung: Nap.using('hung').query() }, { timeoutMs: 100, partial: true });
    expect(results.local).toHaveLength(1);
    expect(stats.hung.error).toBeInstanceOf(ScatterTimeoutError);
    expect(stats.hung).toMatchObject({ connection: 'hung', rows: 0 });
    expectNoSessionInUse('a', 'hung');
  });

  it('without timeoutMs, the connect timeout fails the entry', async () => {
    const { results, stats } = await scatter({ local: Nap.query(), hung: Nap.using('hung').query() }, { partial: true });
    expect(results.local).toHaveLength(1);
    expect(stats.hung.error).toBeInstanceOf(QueryError);
    expect(stats.hung.connection).toBe('hung');
    expectNoSessionInUse('a', 'hung');
  });
});

describe.skipIf(SERVER_DIALECTS.length === 0)('scatter across servers', () => {
  const drops: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    for (const dialect of DIALECTS) drops.push(await provisionNaps(dialect, [dialect.driver]));
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  });

  it('reads SQLite and every server at once; the server statements overlap', async () => {
    const entries = Object.fromEntries(
      DIALECTS.map((d) => [d.driver, d.driver === 'sqlite' ? () => Nap.using('sqlite').all() : () => Interval.using(d.driver).rawQuery(SLEEP_WITH_CLOCK[d.driver as ServerDriver](0.3))]),
    );
    const { results, stats } = await scatter(entries);
    expect((results.sqlite as Nap[])[0]!.label).toBe('sqlite');
    for (const d of SERVER_DIALECTS) expect(stats[d.driver]).toMatchObject({ connection: d.driver, rows: 1 });
    const intervals = SERVER_DIALECTS.map((d) => (results[d.driver] as Interval[])[0]!);
    for (const x of intervals) for (const y of intervals) expect(x.started).toBeLessThan(y.ended);
    expectNoSessionInUse(...DIALECTS.map((d) => d.driver));
  });
});
