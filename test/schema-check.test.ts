import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectionManager, type ConnectionConfig, type SchemaCheckReport, type SchemaProblem } from '../src/index.js';
import { polyrecord } from './support/cli.js';
import { describeEachDialect } from './support/dialects.js';

const SRC = JSON.stringify(resolve(import.meta.dirname, '../src/index.ts'));
// Model files load through tsx, which follows the nearest tsconfig.json: legacy decorators, as most projects use.
const TSCONFIG = JSON.stringify({ compilerOptions: { experimentalDecorators: true, target: 'ES2022', module: 'preserve' } });

function write(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

/** `schema:check --json`: the exit code and the report. */
function check(dir: string, ...args: string[]): { code: number | null; report: SchemaCheckReport } {
  const result = polyrecord(dir, 'schema:check', '--json', ...args);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return { code: result.code, report: JSON.parse(result.stdout) as SchemaCheckReport };
}

/** A problem as one comparable line: model, kind, column(s), severity (and the key's user). */
function line(p: SchemaProblem): string {
  return [p.connection, p.model, p.kind, p.column ?? p.columns?.join('+') ?? '-', p.severity, p.kind === 'missing-unique-key' ? p.declared : ''].join(' ').trim();
}

// A project whose models come from a glob: people with a @SyncTo copy (single conflict key), and a
// ledger that a job of the config upserts by a composite key.
const PEOPLE = (extra = '') => `import { ActiveRecord, Column, Model, PrimaryKey, SyncTo, UpdatedAt } from ${SRC}

@Model({ connection: 'main', table: 'sc_person_copies' })
export class PersonCopy extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number
  @Column({ type: 'integer', nullable: false }) personId!: number
  @Column({ type: 'string' }) name!: string
}

@SyncTo({ connection: 'main', model: PersonCopy, map: (p: Person) => ({ personId: p.id, name: p.name }), conflictKeys: ['personId'] })
@Model({ connection: 'main', table: 'sc_people' })
export class Person extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number
  @Column({ type: 'string', nullable: false }) name!: string
  @Column({ type: 'string', nullable: true }) nickname!: string | null
  @Column({ type: 'integer' }) age = 18
  @Column({ type: 'bigint' }) balance!: bigint
  @Column({ type: 'float' }) ratio!: number
  @Column({ type: 'boolean', nullable: false }) active = true
  @Column({ type: 'date' }) born!: Date
  @Column({ type: 'json' }) settings!: unknown
  @UpdatedAt() updatedAt!: Date
${extra}}
`;

const LEDGER = `import { ActiveRecord, Column, Model, PrimaryKey } from ${SRC}

@Model({ connection: 'main', table: 'sc_ledger' })
export class Ledger extends ActiveRecord {
  @PrimaryKey({ type: 'bigint' }) id!: bigint
  @Column({ type: 'string', nullable: false }) code!: string
  @Column({ type: 'date', nullable: false }) day!: Date
  @Column({ type: 'float' }) amount!: number
}
`;

const GLOB_CONFIG = `import { defineConfig, SyncJob } from ${SRC}
import { Person } from './models/people'
import { Ledger } from './models/ledger'

export default defineConfig({
  connections: { main: CONNECTION },
  migrations: { main: { directory: 'migrations/main' } },
  models: 'models/*.ts',
  jobs: { ledger: () => new SyncJob({ name: 'ledger', source: Person, target: Ledger, map: (p) => ({ code: p.name, day: p.born }), conflictKeys: ['code', 'day'], watermark: 'updatedAt' }) },
})
`;

// A project with planted mismatches, its models given as an array of classes.
const PLANTED_MODELS = `import { ActiveRecord, Column, Model, PrimaryKey, SyncTo, UpdatedAt } from ${SRC}

@Model({ connection: 'main', table: 'sc_things' })
export class Thing extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number
  @Column({ type: 'string' }) label!: string
  @Column({ type: 'string', nullable: false }) title!: string
  @Column({ type: 'string', nullable: true }) note!: string | null
  @Column({ type: 'integer' }) score!: number
  @Column({ type: 'string' }) code!: string
  @Column({ type: 'bigint' }) total!: bigint
  @Column({ type: 'integer' }) count!: number
  @Column({ type: 'datetime' }) seenAt!: Date
  @Column({ type: 'string' }) fine!: string
}

@SyncTo({ connection: 'main', model: Thing, map: (s: Source) => ({ code: s.code }), conflictKeys: ['code'] })
@Model({ connection: 'main', table: 'sc_sources' })
export class Source extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number
  @Column({ type: 'string' }) code!: string
  @UpdatedAt() updatedAt!: Date
}

@Model({ connection: 'main', table: 'sc_ghosts' })
export class Ghost extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number
}

@Model({ connection: 'other', table: 'sc_elsewhere' })
export class Elsewhere extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number
}
`;

const PLANTED_CONFIG = `import { defineConfig, SyncJob } from ${SRC}
import { Elsewhere, Ghost, Source, Thing } from './models'

const job = (name: string, key: 'fine' | 'title') => () => new SyncJob({ name, source: Source, target: Thing, map: (s) => ({ [key]: s.code }), conflictKeys: [key], watermark: 'updatedAt' })

export default defineConfig({
  connections: { main: CONNECTION, other: { driver: 'sqlite', database: './other.sqlite' } },
  models: [Thing, Source, Ghost, Elsewhere],
  jobs: { fine: job('fine', 'fine'), titles: job('titles', 'title') },
})
`;

describeEachDialect('schema:check and make:migration --from-models', (dialect) => {
  const work = mkdtempSync(join(tmpdir(), 'polyrecord-schema-'));
  const server = dialect.driver !== 'sqlite';
  let configs: ConnectionConfig[];
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ configs, drop } = await dialect.provision(2));
  });
  afterAll(() => drop());

  it('a new project: the check names the missing tables, --from-models writes the migration that creates them, and after migrate the check passes', () => {
    const dir = join(work, 'fresh');
    write(dir, { 'tsconfig.json': TSCONFIG, 'polyrecord.config.ts': GLOB_CONFIG.replace('CONNECTION', JSON.stringify(configs[0])), 'models/people.ts': PEOPLE(), 'models/ledger.ts': LEDGER });

    const before = check(dir);
    expect(before.code).toBe(1);
    expect(before.report.ok).toBe(false);
    expect(before.report.checked.map((c) => c.model).sort()).toEqual(['Ledger', 'Person', 'PersonCopy']);
    expect(before.report.problems.map(line).sort()).toEqual(['main Ledger missing-table - mismatch', 'main Person missing-table - mismatch', 'main PersonCopy missing-table - mismatch']);

    const made = polyrecord(dir, 'make:migration', 'create tables', '--from-models', '--connection', 'main');
    expect(made.code, made.stderr).toBe(0);
    const file = made.stdout.trim();
    expect(basename(file)).toMatch(/^\d{14}_create_tables\.ts$/);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain("createTable('sc_people'");
    expect(text).toContain("t.unique(['person_id'])");
    expect(text).toContain("t.unique(['code', 'day'])");
    expect(text).toContain("t.boolean('active').defaultTo(true).notNullable()");

    const migrated = polyrecord(dir, 'migrate');
    expect(migrated.code, migrated.stderr).toBe(0);
    const after = polyrecord(dir, 'schema:check');
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect(after.stdout).toBe('schema matches: 3 models checked\n');
    const nothing = polyrecord(dir, 'make:migration', 'again', '--from-models', '--connection', 'main');
    expect(nothing.stdout).toContain('main: nothing to create');

    // A column added to a model: the check names it, a migration from that model adds it, and its rollback drops it again.
    write(dir, { 'models/people.ts': PEOPLE("  @Column({ type: 'string' }) email!: string | null\n") });
    expect(check(dir).report.problems.map(line)).toEqual(['main Person missing-column email mismatch']);
    const added = polyrecord(dir, 'make:migration', 'add email', '--from-models', 'Person', '--connection', 'main');
    expect(added.code, added.stderr).toBe(0);
    expect(readFileSync(added.stdout.trim(), 'utf8')).toContain("alterTable('sc_people', (t) => {\n    t.string('email')\n  })");
    expect(polyrecord(dir, 'migrate').code).toBe(0);
    expect(check(dir)).toMatchObject({ code: 0, report: { ok: true, problems: [] } });
    expect(polyrecord(dir, 'migrate:rollback', '--step', '1').code).toBe(0);
    expect(check(dir).report.problems.map(line)).toEqual(['main Person missing-column email mismatch']);
    const unknown = polyrecord(dir, 'make:migration', 'x', '--from-models', 'Nobody', '--connection', 'main');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no model named Nobody');
  }, 240_000);

  it('detects every planted mismatch: missing table and column, wrong type, nullability both ways, missing unique keys of @SyncTo and of a job', async () => {
    const dir = join(work, 'planted');
    write(dir, { 'tsconfig.json': TSCONFIG, 'polyrecord.config.ts': PLANTED_CONFIG.replace('CONNECTION', JSON.stringify(configs[1])), 'models.ts': PLANTED_MODELS });
    const manager = new ConnectionManager();
    manager.configure('main', configs[1]!);
    try {
      const { knex } = manager.get('main');
      await knex.schema.createTable('sc_things', (t) => {
        t.increments('id');
        t.integer('label'); // string declared
        t.string('title'); // declared never null
        t.string('note').notNullable(); // declared nullable
        t.string('code'); // @SyncTo upserts by it: no unique index
        t.integer('total'); // bigint declared: too narrow on the servers, 64-bit on SQLite
        t.bigInteger('count'); // integer declared: a warning on the servers
        t.text('seen_at'); // datetime declared: SQLite keeps date-times as text, the servers do not
        t.string('fine').unique(); // the job "fine" upserts by it
      });
      await knex.schema.createTable('sc_sources', (t) => {
        t.increments('id');
        t.string('code');
        t.datetime('updated_at');
      });
    } finally {
      await manager.closeAll();
    }

    const { code, report } = check(dir);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    const expected = [
      'main Thing type label mismatch',
      'main Thing nullability title mismatch',
      'main Thing nullability note mismatch',
      'main Thing missing-column score mismatch',
      ...(server ? ['main Thing type total mismatch', 'main Thing type count warning', 'main Thing type seen_at mismatch'] : []),
      'main Thing missing-unique-key code mismatch @SyncTo on Source',
      'main Thing missing-unique-key title mismatch job titles',
      'main Ghost missing-table - mismatch',
      'other Elsewhere missing-table - mismatch',
    ];
    expect(report.problems.map(line).sort()).toEqual(expected.sort());
    const nullability = report.problems.filter((p) => p.kind === 'nullability');
    expect(nullability.map(({ column, declared, actual }) => ({ column, declared, actual }))).toEqual([
      { column: 'title', declared: 'not null', actual: 'null' },
      { column: 'note', declared: 'null', actual: 'not null' },
    ]);
    expect(report.problems.find((p) => p.column === 'label')).toMatchObject({ declared: 'string', actual: expect.stringMatching(/^int/i) });

    const table = polyrecord(dir, 'schema:check');
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/main\s*│\s*Ghost\s*│\s*sc_ghosts\s*│\s*│\s*missing-table/);
    expect(table.stderr).toBe(`polyrecord: schema:check found ${expected.filter((e) => e.includes('mismatch')).length} mismatches\n`);
  }, 120_000);

  it('--connection limits the check to the models there; an unknown connection or flag exits 2', () => {
    const dir = join(work, 'planted');
    const other = check(dir, '--connection', 'other');
    expect(other.code).toBe(1);
    expect(other.report.checked).toEqual([{ connection: 'other', model: 'Elsewhere', table: 'sc_elsewhere' }]);
    expect(other.report.problems.map(line)).toEqual(['other Elsewhere missing-table - mismatch']);
    const unknown = polyrecord(dir, 'schema:check', '--connection', 'main', '--connection', 'nope');
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toContain('"nope"');
    expect(polyrecord(dir, 'schema:check', '--bogus').code).toBe(2);
  }, 120_000);
});
