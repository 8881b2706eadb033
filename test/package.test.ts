import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docBlocks, inOrder, promisedOutput, type DocBlock } from './support/doc-blocks.js';
import { DIALECTS } from './support/dialects.js';

const root = resolve(import.meta.dirname, '..');
const tsc = join(root, 'node_modules', '.bin', 'tsc');
// Node 20 before 20.19 cannot require() an ES module; this flag restores that on later versions.
const NO_REQUIRE_ESM = process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module') ? ['--no-experimental-require-module'] : [];

/** Writes files (relative path → text) under a directory. */
function write(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

/** Runs a script with node in `dir` and parses the JSON on its last line of output. */
function run(dir: string, script: string, flags: string[] = []): any {
  const stdout = execFileSync(process.execPath, [...flags, script], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

/** A TypeScript model program, compiled by each consumer project below. */
const MODEL_PROGRAM = `import { ActiveRecord, Column, ConnectionManager, CreatedAt, Model, PrimaryKey } from 'polyrecord';

@Model({ connection: 'app', table: 'users' })
class User extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) email!: string;
  @CreatedAt() createdAt!: Date;
}

// @ts-expect-error: the package's types are real (email is a string), not any.
export const wrong: number = new User().email;

async function main(): Promise<void> {
  ConnectionManager.configure('app', { driver: 'sqlite', database: ':memory:' });
  await ConnectionManager.get('app').knex.schema.createTable('users', (t) => {
    t.increments('id');
    t.string('email');
    t.datetime('created_at');
  });
  const user = await User.create({ email: 'ada@example.com' });
  const found = await User.findOrFail(user.id);
  await ConnectionManager.closeAll();
  console.log(JSON.stringify({ email: found.email, createdAt: found.createdAt instanceof Date, format: typeof require === 'function' ? 'commonjs' : 'module' }));
}
void main();
`;

/** Compiles a TypeScript project in `dir`; a type error fails with tsc's report. */
function compile(dir: string): void {
  try {
    execFileSync(tsc, ['-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    throw new Error(`tsc failed:\n${(error as { stdout: string }).stdout}`);
  }
}

/** The settings docs/setup.md recommends, per decorator flavour. */
const DOC_TSCONFIG = { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, types: ['node'], outDir: 'out', rootDir: 'src' };
const LEGACY_DECORATORS = { experimentalDecorators: true, emitDecoratorMetadata: true };

/** Markdown files whose marked blocks are run; README.md and docs/setup.md must mark every program block. */
const DOCS = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const FULLY_MARKED = ['README.md', 'docs/setup.md'];
const PROGRAM_LANGUAGES = ['ts', 'js', 'typescript', 'javascript'];
const SERVER_VARIABLE: Record<string, string> = { postgresql: 'POLYRECORD_PG_URL', mysql: 'POLYRECORD_MYSQL_URL' };

/** Compiles (TypeScript) and runs a runnable block in a fresh project; it must exit cleanly and print what its comments promise. */
function runBlock(block: DocBlock, env: NodeJS.ProcessEnv, consumer: (name: string, type: string) => string): void {
  const commonjs = block.options.includes('commonjs');
  const dir = consumer(`doc-${block.file.replace(/\W+/g, '-')}-${block.line}`, commonjs ? 'commonjs' : 'module');
  let script = commonjs ? 'main.cjs' : 'main.js';
  if (block.language.startsWith('t')) {
    const decorators = block.options.includes('standard-decorators') ? { experimentalDecorators: false } : LEGACY_DECORATORS;
    write(dir, { 'src/main.ts': block.code, 'tsconfig.json': JSON.stringify({ compilerOptions: { ...DOC_TSCONFIG, ...decorators }, include: ['src'] }) });
    compile(dir);
    script = 'out/main.js';
  } else {
    write(dir, { [script]: block.code });
  }
  const result = spawnSync(process.execPath, [...(commonjs ? NO_REQUIRE_ESM : []), script], { cwd: dir, encoding: 'utf8', env });
  expect({ status: result.status, stderr: result.stderr }, result.stdout).toEqual({ status: 0, stderr: '' });
  const promised = promisedOutput(block.code);
  expect(inOrder(result.stdout.split('\n'), promised), `printed:\n${result.stdout}\npromised (// comments):\n${promised.join('\n')}`).toBe(true);
}

/** TypeScript projects a user may have: how they resolve modules, what they emit, which decorators. */
const TS_PROJECTS = [
  { label: 'node16 resolution, ES module output, legacy decorators', type: 'module', format: 'module', options: { module: 'node16', moduleResolution: 'node16', experimentalDecorators: true, emitDecoratorMetadata: true } },
  { label: 'nodenext resolution, CommonJS output, standard decorators', type: 'commonjs', format: 'commonjs', options: { module: 'nodenext', moduleResolution: 'nodenext', experimentalDecorators: false } },
  { label: 'CommonJS output (module: commonjs), legacy decorators', type: 'commonjs', format: 'commonjs', options: { module: 'commonjs', moduleResolution: 'bundler', experimentalDecorators: true, useDefineForClassFields: false } },
  { label: 'bundler resolution, ES module output, standard decorators', type: 'module', format: 'module', options: { module: 'preserve', moduleResolution: 'bundler', experimentalDecorators: false } },
];

describe('the published package, installed from its tarball', () => {
  let work: string;
  let tarball: string;
  /** A project directory whose node_modules holds the unpacked tarball and links to polyrecord's dependencies. */
  let consumer: (name: string, type: string) => string;

  beforeAll(() => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'pipe' });
    work = mkdtempSync(join(tmpdir(), 'polyrecord-package-'));
    tarball = join(work, execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!);
    const modules = join(work, 'node_modules');
    mkdirSync(modules);
    execFileSync('tar', ['-xzf', tarball, '-C', work]);
    renameSync(join(work, 'package'), join(modules, 'polyrecord'));
    // The dependencies as installed for the repository (offline; native better-sqlite3 included).
    const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of [...Object.keys(dependencies), '@types']) symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
    consumer = (name, type) => {
      const dir = join(work, name);
      mkdirSync(dir);
      // Node and TypeScript find the package in the parent directory's node_modules.
      write(dir, { 'package.json': JSON.stringify({ name, private: true, type }) });
      return dir;
    };
  }, 180_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('its types leave out what the sources mark @internal (users cannot come to depend on it)', () => {
    const types = (file: string) => readFileSync(join(work, 'node_modules', 'polyrecord', 'dist', 'cjs', file), 'utf8');
    // Marked @internal in src: the monitor's hook on a connection, a transaction's opening, a sync job's option check.
    expect(types('connection/connection.d.ts')).not.toContain('noteHealth');
    expect(types('connection/session/local-transaction.d.ts')).not.toMatch(/static begin/);
    expect(types('sync/sync-job-options.d.ts')).not.toContain('planSyncJob');
    // What is public stays.
    expect(types('connection/connection.d.ts')).toContain('circuitState');
  });

  it('ships both builds, their types and the docs, and no sources or tests', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
    expect(files).toEqual(expect.arrayContaining(['package/dist/cjs/index.js', 'package/dist/cjs/index.d.ts', 'package/dist/cjs/package.json', 'package/dist/esm/index.js', 'package/dist/esm/index.d.ts', 'package/README.md', 'package/docs/setup.md']));
    expect(files.filter((f) => /^package\/(src|test)\//.test(f))).toEqual([]);
  });

  it('its `polyrecord` command migrates with a TypeScript config that imports defineConfig and decorated models from the package', () => {
    const dir = consumer('cli', 'module');
    write(dir, {
      'tsconfig.json': JSON.stringify({ compilerOptions: { ...DOC_TSCONFIG, ...LEGACY_DECORATORS } }),
      'models.ts': `import { ActiveRecord, Column, Model, PrimaryKey } from 'polyrecord';
        @Model({ connection: 'app', table: 'users' })
        export class User extends ActiveRecord {
          @PrimaryKey({ type: 'integer' }) id!: number;
          @Column({ type: 'string' }) email!: string;
        }`,
      'polyrecord.config.ts': `import { defineConfig } from 'polyrecord';
        import { User } from './models.js';
        export default defineConfig({ connections: { app: { driver: 'sqlite', database: './app.sqlite' } }, models: [User], migrations: { app: { directory: 'migrations' } } });`,
      'migrations/001_users.ts': `import type { Knex } from 'knex';
        export const up = (knex: Knex) => knex.schema.createTable('users', (t) => { t.increments('id') });
        export const down = (knex: Knex) => knex.schema.dropTable('users');`,
    });
    const { bin } = JSON.parse(readFileSync(join(work, 'node_modules', 'polyrecord', 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const command = join(work, 'node_modules', 'polyrecord', bin.polyrecord!);
    expect(execFileSync(process.execPath, [command, 'migrate'], { cwd: dir, encoding: 'utf8' })).toBe('app: applied batch 1: 001_users.ts\n');
  });

  it('`import` from an ES module works', () => {
    const dir = consumer('esm', 'module');
    write(dir, {
      'main.js': `import { ConnectionManager, ActiveRecord, ConfigError } from 'polyrecord';
        ConnectionManager.configure('db', { driver: 'sqlite', database: ':memory:' });
        const rows = (await ConnectionManager.get('db').execute('select 41 + 1 as answer', [])).rows;
        await ConnectionManager.closeAll();
        console.log(JSON.stringify({ answer: rows[0].answer, base: typeof ActiveRecord, error: new ConfigError('x', 'y') instanceof Error }));`,
    });
    expect(run(dir, 'main.js')).toEqual({ answer: 42, base: 'function', error: true });
  });

  it('`require` from a .cjs file loads the CommonJS build, on a Node that cannot require ES modules', () => {
    const dir = consumer('cjs', 'module');
    write(dir, {
      // Plain JavaScript, no decorators: defineModel (docs/setup.md).
      'main.cjs': `const { ActiveRecord, Column, ConnectionManager, CreatedAt, PrimaryKey, defineModel } = require('polyrecord');
        class User extends ActiveRecord {}
        defineModel(User, { connection: 'app', table: 'users', columns: { id: PrimaryKey({ type: 'integer' }), email: Column({ type: 'string' }), createdAt: CreatedAt() } });
        (async () => {
          ConnectionManager.configure('app', { driver: 'sqlite', database: ':memory:' });
          await ConnectionManager.get('app').execute('create table users (id integer primary key, email text, created_at text)', []);
          const user = await User.create({ email: 'ada@example.com' });
          const found = await User.findOrFail(user.id);
          await ConnectionManager.closeAll();
          console.log(JSON.stringify({ resolved: require.resolve('polyrecord').replace(/\\\\/g, '/').split('/node_modules/')[1], email: found.email, createdAt: found.createdAt instanceof Date }));
        })();`,
    });
    expect(run(dir, 'main.cjs', NO_REQUIRE_ESM)).toEqual({ resolved: 'polyrecord/dist/cjs/index.js', email: 'ada@example.com', createdAt: true });
  });

  it('`import` and `require` in one process share one copy: a model defined through one is found through the other', () => {
    const dir = consumer('dual', 'module');
    write(dir, {
      'define.cjs': `const { ActiveRecord, Column, PrimaryKey, defineModel } = require('polyrecord');
        class Note extends ActiveRecord {}
        module.exports = defineModel(Note, { connection: 'notes', table: 'notes', columns: { id: PrimaryKey({ type: 'integer' }), body: Column({ type: 'string' }) } });`,
      'main.js': `import { createRequire } from 'node:module';
        import { ConnectionManager, modelMetadata } from 'polyrecord';
        const require = createRequire(import.meta.url);
        const Note = require('./define.cjs');
        ConnectionManager.configure('notes', { driver: 'sqlite', database: ':memory:' });
        await ConnectionManager.get('notes').execute('create table notes (id integer primary key, body text)', []);
        await Note.create({ body: 'hello' });
        const count = await Note.count();
        await ConnectionManager.closeAll();
        console.log(JSON.stringify({ sameManager: require('polyrecord').ConnectionManager === ConnectionManager, table: modelMetadata(Note)?.table, count }));`,
    });
    expect(run(dir, 'main.js')).toEqual({ sameManager: true, table: 'notes', count: 1 });
  });

  for (const project of TS_PROJECTS) {
    it(`TypeScript, ${project.label}: the types resolve and the compiled program runs`, () => {
      const dir = consumer(`ts-${TS_PROJECTS.indexOf(project)}`, project.type);
      write(dir, {
        'src/main.ts': MODEL_PROGRAM,
        'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'ES2022', strict: true, types: ['node'], outDir: 'out', rootDir: 'src', ...project.options }, include: ['src'] }),
      });
      compile(dir);
      expect(run(dir, 'out/main.js', project.format === 'commonjs' ? NO_REQUIRE_ESM : [])).toEqual({ email: 'ada@example.com', createdAt: true, format: project.format });
    }, 60_000);
  }

  describe('the examples run as written (examples/README.md), against the built package', () => {
    const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts') && f !== 'support.ts');
    const runExample = (name: string, env: NodeJS.ProcessEnv) => spawnSync(process.execPath, [join(root, '.build', 'examples', name.replace(/\.ts$/, '.js'))], { cwd: root, encoding: 'utf8', env });
    /** The environment of a new user: no database server configured. */
    const sqliteOnly = () => Object.fromEntries(Object.entries(process.env).filter(([name]) => !['POLYRECORD_PG_URL', 'POLYRECORD_MYSQL_URL'].includes(name)));

    beforeAll(() => {
      // Compiled like `npm run demo` does (tsconfig.run.json, into .build/), the examples only.
      write(join(root, '.build'), { 'examples.tsconfig.json': JSON.stringify({ extends: '../tsconfig.run.json', compilerOptions: { rootDir: '..', outDir: '.' }, include: ['../examples'] }) });
      execFileSync(tsc, ['-p', join(root, '.build', 'examples.tsconfig.json')], { cwd: root, stdio: 'pipe' });
    }, 120_000);

    for (const example of examples) {
      it(`${example} exits cleanly`, () => {
        const result = runExample(example, process.env);
        expect({ status: result.status, stderr: result.stderr }, result.stdout).toEqual({ status: 0, stderr: '' });
      }, 60_000);
    }

    it('relations-across-databases.ts loads the schema spread over three databases, on SQLite alone too', () => {
      for (const env of [process.env, sqliteOnly()]) {
        const result = runExample('relations-across-databases.ts', env);
        expect({ status: result.status, stderr: result.stderr }, result.stdout).toEqual({ status: 0, stderr: '' });
        const lines = result.stdout.split('\n');
        const promised = ['    2004 Blue Engines: Pistons, Blue Hour', '  Ada 3, Bix 1, Cleo 0', '  album Polyglot has artistId 3; Cleo now has 1 album(s)', '  Blue: Blue Hour (added by ada), Pistons (added by cleo)', '  Pistons'];
        expect(inOrder(lines, promised), result.stdout).toBe(true);
      }
      expect(runExample('relations-across-databases.ts', sqliteOnly()).stdout).toContain('catalog on sqlite, media on sqlite, social on sqlite');
    }, 60_000);
  });

  describe('the documentation: marked programs run as written (on SQLite, or on the servers they name)', () => {
    const blocks = DOCS.flatMap((file) => docBlocks(root, file));

    it('README.md and docs/setup.md mark every TypeScript/JavaScript block <!-- runnable --> or <!-- excerpt: why -->', () => {
      const unmarked = blocks.filter((b) => FULLY_MARKED.includes(b.file) && PROGRAM_LANGUAGES.includes(b.language) && !b.marker);
      expect(unmarked.map((b) => `${b.file}:${b.line}`)).toEqual([]);
      expect(blocks.filter((b) => b.marker === 'runnable').length).toBeGreaterThanOrEqual(5);
    });

    for (const block of blocks.filter((b) => b.marker === 'runnable')) {
      // `NAME=driver` options: a fresh database on that server, its URL in NAME.
      const servers = block.options.filter((o) => o.includes('=')).map((o) => o.split('=') as [string, string]);
      const missing = servers.filter(([, driver]) => !DIALECTS.some((d) => d.driver === driver)).map(([, driver]) => SERVER_VARIABLE[driver]);
      const title = `${block.file}:${block.line} (${[block.language, ...block.options].join(', ')})`;
      it.skipIf(missing.length > 0)(missing.length > 0 ? `${title} (needs ${missing.join(' and ')})` : title, async () => {
        const env: NodeJS.ProcessEnv = { ...process.env };
        const drops: Array<() => Promise<void>> = [];
        for (const [name, driver] of servers) {
          const provisioned = await DIALECTS.find((d) => d.driver === driver)!.provision(1);
          drops.push(provisioned.drop);
          env[name] = provisioned.configs[0]!.url;
        }
        try {
          runBlock(block, env, consumer);
        } finally {
          for (const drop of drops) await drop();
        }
      }, 60_000);
    }

  });
});
