import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionConfig, MigrationStatus } from '../src/index.js';
import { polyrecord, startPolyrecord, writeProject } from './support/cli.js';
import { DIALECTS } from './support/dialects.js';
import { FAILING_MIGRATION, writeMigrations } from './support/migration-files.js';

/** Runs `polyrecord migrate:status --json` and returns the pending files per connection. */
function pending(dir: string): Record<string, string[]> {
  const result = polyrecord(dir, 'migrate:status', '--json');
  expect(result.code, result.stderr).toBe(0);
  return Object.fromEntries((JSON.parse(result.stdout) as MigrationStatus[]).map((status) => [status.connection, status.pending]));
}

describe('the polyrecord command', () => {
  const work = mkdtempSync(join(tmpdir(), 'polyrecord-cli-'));
  // One connection per dialect available (SQLite always): the main project and a second one to break.
  const connections: [Record<string, ConnectionConfig>, Record<string, ConnectionConfig>] = [{}, {}];
  const drops: (() => Promise<void>)[] = [];
  const names: string[] = DIALECTS.map((dialect) => dialect.driver);
  const project = join(work, 'project');

  beforeAll(async () => {
    for (const dialect of DIALECTS) {
      const { configs, drop } = await dialect.provision(2);
      drops.push(drop);
      connections[0][dialect.driver] = configs[0]!;
      connections[1][dialect.driver] = configs[1]!;
    }
    writeProject(project, connections[0]);
  });
  afterAll(() => Promise.all(drops.map((drop) => drop())));

  it('exits 2 with one message, and no stack, without a config file, with a missing or broken one', () => {
    const empty = mkdtempSync(join(tmpdir(), 'polyrecord-cli-empty-'));
    const missing = polyrecord(empty, 'migrate');
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toMatch(/^polyrecord: no polyrecord\.config\.ts, polyrecord\.config\.mjs, polyrecord\.config\.js in .+; pass --config <path>\n$/);

    const named = polyrecord(empty, 'migrate', '--config', 'nope.ts');
    expect(named.code).toBe(2);
    expect(named.stderr).toContain(join(empty, 'nope.ts'));

    writeFileSync(join(empty, 'polyrecord.config.mjs'), 'export default {{\n');
    const broken = polyrecord(empty, 'migrate:status');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`config file ${join(empty, 'polyrecord.config.mjs')} failed to load`);
    expect(broken.stderr).not.toMatch(/\n\s+at /);
    expect(polyrecord(empty, 'migrate:status', '--verbose').stderr).toMatch(/\n\s+at /);

    writeFileSync(join(empty, 'polyrecord.config.mjs'), 'export default { connections: {}, migration: {} }\n');
    const typo = polyrecord(empty, 'migrate');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('migration: unknown key');
  });

  it('exits 2 on a bad flag or an unknown connection, and changes nothing', () => {
    const flag = polyrecord(project, 'migrate', '--bogus');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--bogus'");
    const step = polyrecord(project, 'migrate:rollback', '--step', '0');
    expect(step.code).toBe(2);
    expect(step.stderr).toContain('--step');
    const unknown = polyrecord(project, 'migrate', '--connection', 'sqlite', '--connection', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('"nope"');
    expect(pending(project)).toEqual(Object.fromEntries(names.map((name) => [name, ['001_things.ts']])));
  });

  it('migrates every connection at once, reports status as JSON and as a table, and rolls back', () => {
    const migrated = polyrecord(project, 'migrate');
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout.trim().split('\n')).toEqual(names.map((name) => `${name}: applied batch 1: 001_things.ts`));
    expect(pending(project)).toEqual(Object.fromEntries(names.map((name) => [name, []])));
    expect(polyrecord(project, 'migrate:status').stdout).toMatch(/sqlite\s*│\s*001_things\.ts\s*│\s*applied/);

    const rolled = polyrecord(project, 'migrate:rollback', '--connection', 'sqlite', '--step', '1');
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toBe('sqlite: rolled back batch 1: 001_things.ts\n');
    expect(pending(project).sqlite).toEqual(['001_things.ts']);
    expect(polyrecord(project, 'migrate', '--json').stdout).toContain('"connection": "sqlite"');
  });

  it('make:migration writes a TypeScript migration into the connection folder, which then migrates', () => {
    const made = polyrecord(project, 'make:migration', 'add widgets', '--connection', 'sqlite');
    expect(made.code, made.stderr).toBe(0);
    const file = made.stdout.trim();
    expect(basename(file)).toMatch(/^\d{14}_add_widgets\.ts$/);
    expect(readFileSync(file, 'utf8')).toContain('export async function up(knex: Knex)');
    expect(polyrecord(project, 'make:migration', 'x').code).toBe(2);
    const migrated = polyrecord(project, 'migrate', '--connection', 'sqlite');
    expect(migrated.stdout).toBe(`sqlite: applied batch 2: ${basename(file)}\n`);
  });

  it('health reports every connection as JSON', () => {
    const health = polyrecord(project, 'health', '--json');
    expect(health.code, health.stderr).toBe(0);
    expect((JSON.parse(health.stdout) as { name: string; ok: boolean }[]).map(({ name, ok }) => ({ name, ok }))).toEqual(names.map((name) => ({ name, ok: true })));
  });

  it('a failing migration exits 1 naming connection and file; the connections before it stay migrated', () => {
    const dir = join(work, 'failing');
    writeProject(dir, connections[1]);
    const last = names.at(-1)!;
    writeMigrations(join(dir, 'migrations', last), { '002_broken.mjs': FAILING_MIGRATION });
    const failed = polyrecord(dir, 'migrate');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`migration failed on connection "${last}", file 002_broken.mjs`);
    expect(failed.stderr).toMatch(/statement: .*no_such_table/);
    expect(failed.stdout.split('\n').filter(Boolean)).toEqual(names.slice(0, -1).map((name) => `${name}: applied batch 1: 001_things.ts`));
    const left = pending(dir);
    expect(left[last]).toContain('002_broken.mjs');
    expect(names.slice(0, -1).map((name) => left[name])).toEqual(names.slice(0, -1).map(() => []));
  });

  it('closes its connections and exits promptly on SIGTERM', async () => {
    const dir = join(work, 'signal');
    writeProject(dir, { sqlite: { driver: 'sqlite', database: join(dir, 'db.sqlite') } });
    writeMigrations(join(dir, 'migrations', 'sqlite'), { '002_slow.mjs': 'export async function up() { console.log("started"); await new Promise((r) => setTimeout(r, 60_000)) }\nexport async function down() {}\n' });
    const child = startPolyrecord(dir, 'migrate');
    const started = Date.now();
    // Reading stdout to its end (not breaking off, which would close the pipe under the child).
    await new Promise<void>((resolve) => child.stdout.on('data', (chunk) => String(chunk).includes('started') && resolve()));
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(143);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(existsSync(join(dir, 'db.sqlite'))).toBe(true);
  });
});
