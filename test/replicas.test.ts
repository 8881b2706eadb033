import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import { ActiveRecord, Column, ConfigError, ConnectionManager, Model, OUTBOX_TABLE, OutboxRelay, PrimaryKey, ReadTokenError, ReplicaUnavailableError, ensureOutboxTable, type CircuitEvent, type HealthReport, type QueryEvent } from '../src/index.js';
import { REPLICA_PAIRS, type ReplicaPair } from './support/replicas.js';
import { waitFor } from './support/wait.js';

describe('replica options are checked at configure()', () => {
  const manager = new ConnectionManager();
  afterAll(() => manager.closeAll());

  it('refuses replicas SQLite cannot have, replica options without replicas, and a replica of another driver, naming the field', () => {
    expect(() => manager.configure('lite', { driver: 'sqlite', database: ':memory:', replicas: ['sqlite::memory:'] })).toThrow(/replicas.*SQLite has no read replicas/);
    expect(() => manager.configure('a', { url: 'postgres://u@h/db', maxLagMs: 100 })).toThrow(ConfigError);
    expect(() => manager.configure('b', { url: 'postgres://u@h/db', replicas: [] })).toThrow(/non-empty array/);
    expect(() => manager.configure('c', { url: 'postgres://u@h/db', replicas: ['mysql://u@h/db'] })).toThrow(/replicas\[0\].*mysql.*postgresql/);
    expect(() => manager.configure('d', { url: 'postgres://u@h/db', replicas: [{ host: 'r', maxLagMs: 5 } as never] })).toThrow(/give pick, maxLagMs/);
    expect(() => manager.configure('e', { url: 'postgres://u@h/db', replicas: ['postgres://r/db'], replicaFallback: 'never' as never })).toThrow(/replicaFallback/);
    expect(() => manager.configure('f', { url: 'postgres://u@h/db', replicas: ['postgres://r/db'], pick: 'first' as never })).toThrow(/pick/);
    expect(manager.names()).toEqual([]);
  });

  it('a replica takes what it does not give from the primary, and never shows a password', () => {
    const main = manager.configure('main', { url: 'postgres://app:s3cret-pw@primary:5432/app', pool: { max: 3 }, replicas: [{ host: 'replica-a' }, 'postgres://reader:0ther-pw@replica-b:6432/app'] });
    const [a, b] = main.replicas;
    expect(a!.settings).toMatchObject({ name: 'main/replica-1', host: 'replica-a', port: 5432, database: 'app', username: 'app', pool: { max: 3 } });
    expect(a!.settings.password).toBe('s3cret-pw');
    // A URL brings its own location and credentials.
    expect(b!.settings).toMatchObject({ name: 'main/replica-2', host: 'replica-b', port: 6432, username: 'reader' });
    // Replicas get a breaker even where the primary has none: a replica that is down is skipped at once.
    expect(a!.settings.breaker).toEqual({ failureThreshold: 1, windowMs: 10_000, cooldownMs: 5_000 });
    const shown = `${JSON.stringify(main.settings)} ${inspect(main)} ${inspect(main.status(), { depth: 5 })}`;
    expect(shown).not.toMatch(/s3cret-pw|0ther-pw/);
    expect(main.status().replicas!.map((r) => r.name)).toEqual(['main/replica-1', 'main/replica-2']);
  });

  it('withReadAfter() refuses what is not a token before running anything', () => {
    let ran = false;
    expect(() => manager.withReadAfter('a cookie', () => (ran = true))).toThrow(ReadTokenError);
    expect(() => manager.withReadAfter('prw1.%%%', () => (ran = true))).toThrow(ReadTokenError);
    const forged = `prw1.${Buffer.from(JSON.stringify({ main: "0/1'; drop table x" })).toString('base64url')}`;
    expect(() => manager.withReadAfter(forged, () => (ran = true))).toThrow(/not a postgresql replication position/);
    expect(ran).toBe(false);
    // No token, or one naming connections this manager does not have, is a scope with nothing to wait for.
    expect(manager.withReadAfter(undefined, () => 'ran')).toBe('ran');
    expect(manager.withReadAfter(`prw1.${Buffer.from('{"elsewhere":"0/1"}').toString('base64url')}`, () => 'ran')).toBe('ran');
  });
});

if (REPLICA_PAIRS.length === 0) {
  it.skip('read replicas on real replication (needs POLYRECORD_PG_REPLICA_URL / POLYRECORD_MYSQL_REPLICA_URL: run `scripts/replicas.sh start` and eval `scripts/replicas.sh env`)', () => undefined);
}

for (const pair of REPLICA_PAIRS) describe(`read replicas on real replication [${pair.driver}]`, () => replicaSuite(pair));

function replicaSuite(pair: ReplicaPair): void {
  const manager = new ConnectionManager();
  let drop: () => Promise<void>;
  let primaryUrl = '';
  let replicaUrl = '';
  const events: QueryEvent[] = [];
  const circuits: string[] = [];

  @Model({ manager, connection: 'main', table: 'notes' })
  class Note extends ActiveRecord {
    @PrimaryKey({ type: 'integer' }) id!: number;
    @Column({ type: 'string' }) body!: string;
  }

  /** The connections (primary `main`, replicas `main/replica-n`) that answered the statements on `notes` run by `work`. */
  async function answeredBy<T>(work: () => Promise<T>): Promise<{ value: T; by: string[] }> {
    const from = events.length;
    const value = await work();
    return { value, by: events.slice(from).filter((e) => /notes/.test(e.sql)).map((e) => e.connection) };
  }
  const replica = (name = 'main') => manager.get(name).replicas[0]!;
  const replicated = (id: number, name = 'main') => waitFor(async () => (await replica(name).execute('select id from notes where id = ' + id, [])).rows.length === 1, `row ${id} on the replica`);

  beforeAll(async () => {
    ({ primaryUrl, replicaUrl, drop } = await pair.provision());
    manager.configure('main', { url: primaryUrl, replicas: [replicaUrl], breaker: { failureThreshold: 1, cooldownMs: 300 } });
    manager.events.on('query', (e) => void events.push(e));
    for (const state of ['open', 'closed'] as const) manager.events.on(`circuit:${state}`, (e: CircuitEvent) => void circuits.push(`${e.state}:${e.connection}`));
    await manager.get('main').execute('create table notes (id integer primary key, body varchar(100) not null)', []);
    await manager.get('main').execute("insert into notes (id, body) values (1, 'first')", []);
    await replicated(1);
  });
  afterAll(async () => {
    await pair.resume().catch(() => undefined);
    await manager.closeAll();
    await drop();
  });

  it('model reads outside transactions go to a replica; writes, transactions and usingPrimary go to the primary', async () => {
    const read = await answeredBy(() => manager.withReadAfter(undefined, () => Note.find(1)));
    expect(read.value?.body).toBe('first');
    expect(read.by).toEqual(['main/replica-1']);
    expect((await answeredBy(() => manager.withReadAfter(undefined, () => Note.query().where('id', '>', 0).count()))).by).toEqual(['main/replica-1']);

    expect((await answeredBy(() => Note.create({ id: 2, body: 'second' }))).by).toEqual(['main']);
    expect((await answeredBy(() => manager.transaction('main', () => Note.find(1)))).by).toEqual(['main']);
    expect((await answeredBy(() => manager.usingPrimary(() => manager.withReadAfter(undefined, () => Note.find(1))))).by).toEqual(['main']);
    expect((await answeredBy(() => manager.withReadAfter(undefined, () => Note.using('main', { role: 'primary' }).find(1)))).by).toEqual(['main']);
    expect((await answeredBy(() => manager.withReadAfter(undefined, () => Note.using('main', { role: 'primary' }).where('id', 1).first()))).by).toEqual(['main']);
    // Raw SQL of the application is not assumed to be a read.
    expect((await answeredBy(() => manager.withReadAfter(undefined, () => manager.get('main').execute('select * from notes', []))).then((r) => r.by))).toEqual(['main']);
  });

  it('read-your-writes by position: while the replica lags for real, a scope that wrote reads from the primary, others from the replica', async () => {
    await pair.pause();
    try {
      let token = '';
      const writer = await answeredBy(() =>
        manager.withReadAfter(undefined, async () => {
          await Note.create({ id: 10, body: 'mine' });
          token = await manager.writeToken();
          return Note.find(10);
        }),
      );
      expect(writer.value?.body).toBe('mine');
      expect(writer.by.at(-1)).toBe('main');

      // The replica really lags: a scope that did not write reads from it and does not see the row.
      const bystander = await answeredBy(() => manager.withReadAfter(undefined, () => Note.find(10)));
      expect(bystander.value).toBeNull();
      expect(bystander.by).toEqual(['main/replica-1']);

      // The token carries the write to another scope (another request): it reads from the primary too.
      expect(token).toMatch(/^prw1\./);
      const carried = await answeredBy(() => manager.withReadAfter(token, () => Note.find(10)));
      expect(carried.value?.body).toBe('mine');
      expect(carried.by).toEqual(['main']);

      // Once the replica has applied the write, the token's reads go back to it.
      await pair.resume();
      await waitFor(async () => (await answeredBy(() => manager.withReadAfter(token, () => Note.find(10)))).by[0] === 'main/replica-1', 'reads with the token to return to the replica');
      expect((await manager.withReadAfter(token, () => Note.find(10)))?.body).toBe('mine');
    } finally {
      await pair.resume();
    }
  });

  it('outside any scope the process is the scope: a read after its own write never sees the replica without it', async () => {
    await pair.pause();
    try {
      await Note.create({ id: 20, body: 'unscoped' });
      const read = await answeredBy(() => Note.find(20));
      expect(read.value?.body).toBe('unscoped');
      expect(read.by).toEqual(['main']);
      // A transaction's commit counts as a write too.
      await manager.transaction('main', () => Note.create({ id: 21, body: 'in a transaction' }));
      expect((await Note.find(21))?.body).toBe('in a transaction');
    } finally {
      await pair.resume();
    }
    await waitFor(async () => (await answeredBy(() => Note.find(21))).by[0] === 'main/replica-1', 'unscoped reads to return to the replica');
  });

  it("a running OutboxRelay's claims are writes of its own scope: the process's reads neither wait for them nor go to the primary", async () => {
    await ensureOutboxTable('main', manager);
    // Whatever the process wrote before is settled once the replica has it.
    await waitFor(async () => (await answeredBy(() => Note.find(1))).by[0] === 'main/replica-1', 'unscoped reads on the replica');
    const relay = new OutboxRelay({ connection: 'main', manager, pollIntervalMs: 5 });
    let rounds = 0;
    const counting = (e: QueryEvent) => void (e.connection === 'main' && e.sql.includes(OUTBOX_TABLE) && rounds++);
    manager.events.on('query', counting);
    relay.start();
    try {
      await waitFor(() => rounds >= 10, 'the relay to poll');
      const from = events.length;
      const reads = await answeredBy(async () => {
        for (let i = 0; i < 10; i++) await Note.find(1);
      });
      expect(reads.by).toEqual(Array(10).fill('main/replica-1'));
      // Nor does a read have to ask the primary for its position first (as after a write in its scope).
      const positionSql = manager.get('main').dialect.replication!.primaryPositionSql;
      expect(events.slice(from).filter((e) => e.sql === positionSql)).toEqual([]);
    } finally {
      await relay.stop();
      manager.events.off('query', counting);
    }
  });

  it('maxLagMs: a replica further behind gets no reads until it catches up; status() shows its lag', async () => {
    manager.configure('lagged', { url: primaryUrl, replicas: [replicaUrl], maxLagMs: 300, lagCheckMs: 20 });
    @Model({ manager, connection: 'lagged', table: 'notes' })
    class LaggedNote extends ActiveRecord {
      @PrimaryKey({ type: 'integer' }) id!: number;
      @Column({ type: 'string' }) body!: string;
    }
    expect((await answeredBy(() => manager.withReadAfter(undefined, () => LaggedNote.find(1)))).by).toEqual(['lagged/replica-1']);
    await pair.pause();
    try {
      await manager.get('main').execute("insert into notes (id, body) values (30, 'lagging')", []);
      await waitFor(async () => (await answeredBy(() => manager.withReadAfter(undefined, () => LaggedNote.find(1)))).by[0] === 'lagged', 'reads to leave the lagging replica');
      const lag = manager.status('lagged').replicas![0]!.replica.lagMs;
      expect(lag === null || lag! > 300).toBe(true);
    } finally {
      await pair.resume();
    }
    await waitFor(async () => (await answeredBy(() => manager.withReadAfter(undefined, () => LaggedNote.find(30)))).by[0] === 'lagged/replica-1', 'reads to return once it caught up');
  });

  it('a pick function chooses among the replicas; undefined sends the read to the primary', async () => {
    const seen: string[][] = [];
    let choose: 'second' | 'none' = 'second';
    manager.configure('picky', { url: primaryUrl, replicas: [replicaUrl, replicaUrl], pick: (replicas) => (seen.push(replicas.map((r) => r.name)), choose === 'second' ? replicas[1] : undefined) });
    @Model({ manager, connection: 'picky', table: 'notes' })
    class PickyNote extends ActiveRecord {
      @PrimaryKey({ type: 'integer' }) id!: number;
    }
    expect((await answeredBy(() => manager.withReadAfter(undefined, () => PickyNote.find(1)))).by).toEqual(['picky/replica-2']);
    expect(seen[0]).toEqual(['picky/replica-1', 'picky/replica-2']);
    choose = 'none';
    expect((await answeredBy(() => manager.withReadAfter(undefined, () => PickyNote.find(1)))).by).toEqual(['picky']);
    // Without pick: in turn.
    manager.configure('turns', { url: primaryUrl, replicas: [replicaUrl, replicaUrl] });
    const turns = await answeredBy(() => manager.withReadAfter(undefined, async () => [await manager.get('turns').execute('select id from notes', [], { readOnly: true }), await manager.get('turns').execute('select id from notes', [], { readOnly: true })]));
    expect(new Set(turns.by)).toEqual(new Set(['turns/replica-1', 'turns/replica-2']));
  });

  it('a stopped replica is skipped: reads fall back to the primary (or fail with replicaFallback "fail"), the monitor reports it, and it gets reads again once back', async () => {
    manager.configure('strict', { url: primaryUrl, replicas: [replicaUrl], replicaFallback: 'fail', connectTimeoutMs: 2_000 });
    @Model({ manager, connection: 'strict', table: 'notes' })
    class StrictNote extends ActiveRecord {
      @PrimaryKey({ type: 'integer' }) id!: number;
    }
    const downs: HealthReport[] = [];
    manager.events.on('connection:down', (report) => void downs.push(report));
    expect((await manager.withReadAfter(undefined, () => Note.find(1)))?.id).toBe(1);
    pair.stop();
    try {
      const read = await answeredBy(() => manager.withReadAfter(undefined, () => Note.find(1)));
      expect(read.value?.id).toBe(1);
      expect(read.by.at(-1)).toBe('main');
      expect(circuits).toContain('open:main/replica-1');
      const refused = await manager.withReadAfter(undefined, () => StrictNote.find(1)).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ReplicaUnavailableError);
      expect((refused as ReplicaUnavailableError).replicas.map((r) => r.name)).toEqual(['strict/replica-1']);
      const stop = manager.monitor({ intervalMs: 50 });
      await waitFor(() => downs.some((r) => r.name === 'main/replica-1'), 'the monitor to report the replica down');
      await stop();
      expect(manager.status('main').replicas![0]!.health?.ok).toBe(false);
    } finally {
      pair.start();
    }
    // Nothing else touches the replica meanwhile: reads themselves probe it once its breaker's cool-down is over.
    await waitFor(async () => (await answeredBy(() => manager.withReadAfter(undefined, () => Note.find(1)))).by.at(-1) === 'main/replica-1', 'reads to return to the restarted replica');
    expect(circuits).toContain('closed:main/replica-1');
  }, 60_000);
}

// Where the primary cannot tell its replication position (MariaDB without a binary log, as the
// main test server runs), reads after a write stay on the primary for stickyMs instead.
const plainMysql = process.env.POLYRECORD_MYSQL_URL;
if (plainMysql) {
  describe('read-your-writes without positions: the stickyMs timer [mysql]', () => {
    const manager = new ConnectionManager();
    afterAll(() => manager.closeAll());

    it('reads after a write go to the primary for stickyMs, then to the replica', async () => {
      // The same server as its own "replica": what is measured is only where reads are sent.
      manager.configure('sticky', { url: plainMysql, replicas: [plainMysql], stickyMs: 300 });
      const by: string[] = [];
      manager.events.on('query', (e) => void (/sticky_rows/.test(e.sql) && by.push(e.connection)));
      const db = manager.get('sticky');
      const read = () => db.execute('select count(*) from sticky_rows', [], { readOnly: true });
      await manager.withReadAfter(undefined, async () => {
        await db.execute('create temporary table if not exists sticky_probe (x int)', []);
        await db.execute('drop temporary table sticky_probe', []);
        await db.execute('create table if not exists sticky_rows (x int)', []);
        await read();
        expect(by.at(-1)).toBe('sticky');
        await waitFor(async () => (await read(), by.at(-1) === 'sticky/replica-1'), 'reads to go to the replica after stickyMs');
      });
      // A scope that wrote nothing reads from the replica at once.
      await manager.withReadAfter(undefined, () => read());
      expect(by.at(-1)).toBe('sticky/replica-1');
      await db.execute('drop table sticky_rows', []);
    });
  });
}
