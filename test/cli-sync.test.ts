import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActiveRecord, Column, ConnectionManager, defineModel, PrimaryKey, UpdatedAt, type ConnectionConfig } from '../src/index.js';
import { buildCli } from './support/cli-built.js';
import type { CliResult } from './support/cli.js';
import { DIALECTS } from './support/dialects.js';
import { waitFor } from './support/wait.js';

// Enough rows in batches small enough that a run is still going when the test has seen its
// first progress line and signals it, even on SQLite alone (10,000 transactions); the runs that
// finish the job use large batches.
const ROWS = 20_000;
const BATCH = '2';
const BASE = Date.parse('2026-01-01T00:00:00.000Z');

const manager = new ConnectionManager();
const itemColumns = () => ({ id: PrimaryKey({ type: 'integer' }), name: Column({ type: 'string' }), qty: Column({ type: 'integer' }), updatedAt: UpdatedAt({ type: 'datetime' }) });
class Item extends ActiveRecord {
  declare id: number;
  declare name: string;
  declare qty: number;
  declare updatedAt: Date;
}
defineModel(Item, { connection: 'sqlite', table: 'cs_items', manager, columns: itemColumns() });
class ItemCopy extends Item {}
defineModel(ItemCopy, { connection: 'sqlite', table: 'cs_item_copies', manager, columns: itemColumns() });
/** A table without a model in the config file: `copy` reads its columns from the source. */
class Plain extends ActiveRecord {
  declare id: number;
}
defineModel(Plain, {
  connection: 'sqlite',
  table: 'cs_plain',
  manager,
  columns: { id: PrimaryKey({ type: 'integer' }), code: Column({ type: 'string' }), amount: Column({ type: 'float' }), flag: Column({ type: 'boolean' }), at: Column({ type: 'datetime' }) },
});

/** A digest of a table's rows in key order, with every value as the model reads it. */
async function checksum(model: typeof ActiveRecord, connection: string): Promise<{ rows: number; sha: string }> {
  const records = (await model.using(connection).query().orderBy('id' as never).all()) as ActiveRecord[];
  const rows = records.map((record) => Object.entries(record.toJSON()).sort(([a], [b]) => a.localeCompare(b)));
  return { rows: rows.length, sha: createHash('sha256').update(JSON.stringify(rows)).digest('hex') };
}

/** A project whose config file imports the command's build, with two jobs and both models. */
function writeConfig(dir: string, index: string, connections: Record<string, ConnectionConfig>, jobs: { interrupted: [string, string]; killed: [string, string] }): void {
  mkdirSync(dir, { recursive: true });
  const columns = "{ id: PrimaryKey({ type: 'integer' }), name: Column({ type: 'string' }), qty: Column({ type: 'integer' }), updatedAt: UpdatedAt({ type: 'datetime' }) }";
  writeFileSync(
    join(dir, 'polyrecord.config.ts'),
    `import { ActiveRecord, Column, PrimaryKey, SyncJob, UpdatedAt, defineConfig, defineModel } from ${JSON.stringify(index)};

// The models live where the \`interrupted\` job reads and writes; other jobs and copies name connections with using().
class Item extends ActiveRecord {}
defineModel(Item, { connection: ${JSON.stringify(jobs.interrupted[0])}, table: 'cs_items', columns: ${columns} });
class ItemCopy extends ActiveRecord {}
defineModel(ItemCopy, { connection: ${JSON.stringify(jobs.interrupted[1])}, table: 'cs_item_copies', columns: ${columns} });

const options = { conflictKeys: ['id'], watermark: 'updatedAt', batchSize: 1000, map: (i: any) => ({ id: i.id, name: i.name, qty: i.qty, updatedAt: i.updatedAt }) } as const;

export default defineConfig({
  connections: ${JSON.stringify(connections)},
  models: [Item, ItemCopy],
  jobs: {
    interrupted: new SyncJob({ name: 'interrupted', source: Item, target: ItemCopy, ...options }),
    // A function, called when the job is run or inspected: using() needs the connections configured.
    killed: () => new SyncJob({ name: 'killed', source: Item.using(${JSON.stringify(jobs.killed[0])}), target: ItemCopy.using(${JSON.stringify(jobs.killed[1])}), ...options }),
  },
});
`,
  );
}

interface JobStatus {
  name: string;
  checkpoint: { watermark: string; lastKey: number; rowsProcessed: number } | null;
  lag: { rows: number; newestWatermark?: string; milliseconds?: number };
  lastRun?: { startedAt: string; finishedAt?: string; rows: number; outcome: string; error?: string };
}

// Child processes on a shared machine: generous bounds, never what a test measures.
describe('polyrecord sync run / sync status / copy', { timeout: 180_000 }, () => {
  const cli = buildCli();
  const work = mkdtempSync(join(tmpdir(), 'polyrecord-cli-sync-'));
  const project = join(work, 'project');
  const drops: (() => Promise<void>)[] = [];
  const connections: Record<string, ConnectionConfig> = {};
  // Which connection plays which part: servers where they are configured, SQLite otherwise.
  let roles: { sqlite: string; pg: string; maria: string; spare: string };

  const run = (...args: string[]): CliResult => cli.run(project, ...args);
  const status = (job?: string): JobStatus[] => {
    const result = run('sync', 'status', ...(job ? [job] : []), '--json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as JobStatus[];
  };

  /** Starts the command, waits for its first progress line on stdout, and sends `signal`. */
  async function interrupt(signal: NodeJS.Signals, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = cli.start(project, ...args);
    let [stdout, stderr] = ['', ''];
    child.stdout!.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
    const exited = once(child, 'exit') as Promise<[number | null]>;
    await waitFor(() => / rows, \d+ rows\/s, ETA /.test(stdout) || child.exitCode !== null, 'a progress line', 60_000);
    child.kill(signal);
    const [code] = await exited;
    return { code, stdout, stderr };
  }

  beforeAll(async () => {
    for (const dialect of DIALECTS) {
      const { configs, drop } = await dialect.provision(dialect.driver === 'sqlite' ? 2 : 1);
      drops.push(drop);
      connections[dialect.driver] = configs[0]!;
      if (dialect.driver === 'sqlite') connections.spare = configs[1]!;
      if (dialect.driver === 'sqlite') connections.terminal = { driver: 'sqlite', database: join(work, 'terminal.sqlite') };
    }
    roles = { sqlite: 'sqlite', pg: connections.postgresql ? 'postgresql' : 'spare', maria: connections.mysql ? 'mysql' : 'sqlite', spare: 'spare' };
    for (const [name, config] of Object.entries(connections)) manager.configure(name, config);

    // Sources: the items on SQLite and on MariaDB; targets: the copies on PostgreSQL and SQLite.
    const create = async (connection: string, table: string, define: Parameters<ReturnType<ConnectionManager['get']>['knex']['schema']['createTable']>[1]) => {
      const { knex } = manager.get(connection);
      if (!(await knex.schema.hasTable(table))) await knex.schema.createTable(table, define);
    };
    const items = (t: Parameters<Parameters<typeof create>[2]>[0]) => {
      t.integer('id').primary();
      t.string('name', 100);
      t.integer('qty');
      t.datetime('updated_at', { precision: 6 });
      t.index(['updated_at', 'id']);
    };
    for (const connection of new Set([roles.sqlite, roles.maria])) {
      await create(connection, 'cs_items', items);
      // Some rows share a millisecond: the watermark alone does not order them.
      await Item.using(connection).bulkInsert(Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, name: `item ${i + 1} on ${connection}`, qty: i % 97, updatedAt: new Date(BASE + Math.floor(i / 3) * 7) })));
    }
    for (const connection of new Set([roles.pg, roles.sqlite])) await create(connection, 'cs_item_copies', items);
    await create(roles.maria, 'cs_plain', (t) => {
      t.integer('id').primary();
      t.string('code', 40);
      t.double('amount');
      t.boolean('flag');
      t.datetime('at', { precision: 3 });
    });
    await Plain.using(roles.maria).bulkInsert(Array.from({ length: 500 }, (_, i) => ({ id: i + 1, code: `c-${i}`, amount: i / 4, flag: i % 2 === 0, at: new Date(BASE + i * 1000) })) as never);

    writeConfig(project, cli.index, connections, { interrupted: [roles.sqlite, roles.pg], killed: [roles.maria, roles.sqlite] });
  }, 120_000);
  afterAll(async () => {
    await manager.closeAll();
    await Promise.all(drops.map((drop) => drop()));
    cli.remove();
  });

  it('sync status before any run: no checkpoint, every source row behind', () => {
    const before = status();
    expect(before.map(({ name, checkpoint, lag, lastRun }) => ({ name, checkpoint, rows: lag.rows, lastRun }))).toEqual([
      { name: 'interrupted', checkpoint: null, rows: ROWS, lastRun: undefined },
      { name: 'killed', checkpoint: null, rows: ROWS, lastRun: undefined },
    ]);
  });

  it('--dry-run reads everything and writes nothing', async () => {
    const dry = run('sync', 'run', 'interrupted', '--dry-run', '--json', '--batch-size', '500');
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ job: 'interrupted', dryRun: true, processed: ROWS, upserted: ROWS, deleted: 0, batches: ROWS / 500, checkpoint: null });
    expect(await ItemCopy.using(roles.pg).count()).toBe(0);
    expect(status('interrupted')[0]).toMatchObject({ checkpoint: null, lag: { rows: ROWS } });
  });

  it('exits 2 on an unknown job, naming the known ones, and changes nothing', async () => {
    const unknown = run('sync', 'run', 'nope', '--batch-size', BATCH);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^polyrecord: unknown job "nope": .*polyrecord\.config\.ts defines interrupted, killed\n$/);
    expect(run('sync', 'status', 'nope').code).toBe(2);
    expect(run('sync', 'run', 'interrupted', '--batch-size', '0').code).toBe(2);
    expect(status().map((job) => job.checkpoint)).toEqual([null, null]);
    expect(await ItemCopy.using(roles.pg).count()).toBe(0);
  });

  it('a job whose config entry is neither a SyncJob nor a function, or whose function makes something else, exits 2 naming the field', () => {
    const dir = join(work, 'bad-job');
    mkdirSync(dir);
    writeFileSync(join(dir, 'polyrecord.config.mjs'), `export default { connections: {}, jobs: { nightly: 42 } }\n`);
    const bad = cli.run(dir, 'sync', 'status');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('jobs.nightly must be a SyncJob or a function returning one');

    writeFileSync(join(dir, 'polyrecord.config.mjs'), `export default { connections: {}, jobs: { nightly: () => ({ run() {} }) } }\n`);
    const made = cli.run(dir, 'sync', 'run', 'nightly');
    expect(made.code).toBe(2);
    expect(made.stderr).toContain('jobs.nightly() must return a SyncJob (got Object)');
  });

  it('sync run stopped by SIGINT checkpoints its batch, says so, and a second run finishes: target identical to the source', async () => {
    const stopped = await interrupt('SIGINT', 'sync', 'run', 'interrupted', '--batch-size', BATCH);
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(/polyrecord: sync interrupted: stopped by SIGINT: \d+ rows in \d+ batch(es)? committed, checkpoint at watermark .+, key \d+; `polyrecord sync run interrupted` resumes\n$/);
    // Progress on a pipe is plain lines, no escape codes.
    const lines = stopped.stdout.trim().split('\n');
    expect(stopped.stdout).not.toContain('\u001b');
    for (const line of lines) expect(line).toMatch(/^sync interrupted: \d+\/20000 \(\d+%\) rows, \d+ rows\/s, ETA \S+, watermark 2026-\S+Z$/);

    const middle = status('interrupted')[0]!;
    expect(middle.lastRun).toMatchObject({ outcome: 'aborted' });
    expect(middle.checkpoint!.rowsProcessed).toBe(middle.lastRun!.rows);
    expect(middle.lag.rows).toBe(ROWS - middle.checkpoint!.rowsProcessed);
    expect(middle.lag.rows).toBeGreaterThan(0);
    expect(await ItemCopy.using(roles.pg).count()).toBe(middle.checkpoint!.rowsProcessed);

    const resumed = run('sync', 'run', 'interrupted', '--batch-size', '500');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`sync interrupted: ${middle.lag.rows} rows, ${middle.lag.rows} upserted (${middle.lag.rows} inserted, 0 updated), 0 deleted`);
    expect(await checksum(ItemCopy, roles.pg)).toEqual(await checksum(Item, roles.sqlite));

    const after = status('interrupted')[0]!;
    // Each row exactly once across both runs.
    expect(after).toMatchObject({ checkpoint: { rowsProcessed: ROWS, lastKey: ROWS }, lag: { rows: 0 }, lastRun: { outcome: 'completed', rows: middle.lag.rows } });
    expect(run('sync', 'run', 'interrupted').stdout).toMatch(/^sync interrupted: 0 rows/);
  });

  it('sync run killed with SIGKILL loses only its open batch; the next run continues from the checkpoint', async () => {
    const killed = await interrupt('SIGKILL', 'sync', 'run', 'killed', '--batch-size', BATCH);
    expect(killed.code).toBe(null);
    const middle = status('killed')[0]!;
    // A killed run cannot say how it ended: it reads as still running, with what it committed.
    expect(middle.lastRun).toMatchObject({ outcome: 'running' });
    expect(middle.lag.rows).toBeGreaterThan(0);
    expect(await ItemCopy.using(roles.sqlite).count()).toBe(middle.checkpoint!.rowsProcessed);

    const resumed = run('sync', 'run', 'killed', '--json');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ job: 'killed', dryRun: false, processed: middle.lag.rows });
    expect(await checksum(ItemCopy, roles.sqlite)).toEqual(await checksum(Item, roles.maria));
    expect(status('killed')[0]).toMatchObject({ checkpoint: { rowsProcessed: ROWS }, lag: { rows: 0 }, lastRun: { outcome: 'completed' } });
  });

  it('copy of a model SQLite → PostgreSQL creates the table, survives SIGTERM, resumes, and the checksums match', async () => {
    const args = ['copy', 'Item', '--from', roles.sqlite, '--to', roles.pg, '--batch-size', BATCH, '--create'];
    const stopped = await interrupt('SIGTERM', ...args);
    expect(stopped.code, stopped.stderr).toBe(143);
    expect(stopped.stdout).toContain(`created table "cs_items" on "${roles.pg}"`);
    expect(stopped.stderr).toMatch(new RegExp(`copy cs_items ${roles.sqlite} -> ${roles.pg}: stopped by SIGTERM: \\d+ rows in \\d+ batch(es)? committed, checkpoint at watermark \\d+, key \\d+; \`polyrecord copy Item --from ${roles.sqlite} --to ${roles.pg} --batch-size ${BATCH} --create\` resumes`));
    const copied = await Item.using(roles.pg).count();
    expect(copied).toBeGreaterThan(0);
    expect(copied).toBeLessThan(ROWS);

    const resumed = run(...args.filter((arg) => arg !== BATCH && arg !== '--batch-size'), '--json');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ table: 'cs_items', from: roles.sqlite, to: roles.pg, processed: ROWS - copied });
    expect(await checksum(Item, roles.pg)).toEqual(await checksum(Item, roles.sqlite));

    // The copied rows kept their keys and the created key generates the next ones past them (a PostgreSQL sequence is moved after the copy).
    const highest = (await Item.using(roles.pg).orderBy('id', 'desc').first())!.id;
    const added = await Item.using(roles.pg).create({ name: 'after the copy', qty: 1, updatedAt: new Date() });
    expect(added.id).toBe(highest + 1);
    await added.destroy();
  });

  it('copy of a table without a model MariaDB → SQLite: --where on the source, --create from its columns, checksums match', async () => {
    const missing = run('copy', 'cs_plain', '--from', roles.maria, '--to', roles.spare);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`table "cs_plain" does not exist on "${roles.spare}"; pass --create`);

    const some = run('copy', 'cs_plain', '--from', roles.maria, '--to', roles.spare, '--where', 'amount < 25', '--create');
    expect(some.code, some.stderr).toBe(0);
    expect(some.stdout).toContain(`copy cs_plain ${roles.maria} -> ${roles.spare}: 100 rows`);
    expect(await Plain.using(roles.spare).count()).toBe(100);

    const all = run('copy', 'cs_plain', '--from', roles.maria, '--to', roles.spare);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/: 500 rows, 500 upserted \(400 inserted, 100 updated\)/);
    expect(await checksum(Plain, roles.spare)).toEqual(await checksum(Plain, roles.maria));
  });

  it('on a terminal, progress is a cli-progress bar: rows of the estimate, rate, ETA, watermark', () => {
    // script(1) gives the command a pseudo-terminal, as an operator's shell does.
    const command = [process.execPath, cli.main, 'copy', 'Item', '--from', roles.sqlite, '--to', 'terminal', '--create', '--batch-size', '500'].map((arg) => `'${arg}'`).join(' ');
    const result = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: project, encoding: 'utf8' });
    expect(result.status, result.stdout).toBe(0);
    // A copy's watermark is the primary key.
    expect(result.stdout).toMatch(new RegExp(`copy cs_items ${roles.sqlite} -> terminal \\[[\u2588\u2591]{40}\\] \\d+% \\| \\d+/${ROWS} rows \\| \\d+ rows/s \\| ETA \\S+ \\| watermark \\d+`));
    expect(result.stdout).toMatch(new RegExp(`\\[\u2588{40}\\] 100% \\| ${ROWS}/${ROWS} rows \\| \\d+ rows/s \\| ETA 0s \\| watermark ${ROWS}`));
    expect(result.stdout).toContain(`copy cs_items ${roles.sqlite} -> terminal: ${ROWS} rows`);
  });

  it('copy exits 2 on an unknown connection or table and creates nothing', async () => {
    const connection = run('copy', 'cs_plain', '--from', roles.maria, '--to', 'nowhere', '--create');
    expect(connection.code).toBe(2);
    expect(connection.stderr).toContain('"nowhere"');
    const table = run('copy', 'cs_nothing', '--from', roles.maria, '--to', roles.spare, '--create');
    expect(table.code).toBe(2);
    expect(table.stderr).toContain(`no table "cs_nothing" on "${roles.maria}"`);
    expect(await manager.get(roles.spare).knex.schema.hasTable('cs_nothing')).toBe(false);
  });
});
