import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, ConfigFileError, configureFrom, ConnectionManager, defineConfig, findConfigFile, loadConfig } from '../src/index.js';

const SQLITE = { driver: 'sqlite', database: ':memory:' } as const;

describe('defineConfig and configureFrom', () => {
  const manager = new ConnectionManager();
  afterEach(() => manager.closeAll());

  it('defineConfig returns its argument', () => {
    const config = { connections: { main: SQLITE } };
    expect(defineConfig(config)).toBe(config);
  });

  it('configures every connection and alias, and accepts jobs, the coordinator, relays and sagas', () => {
    configureFrom(defineConfig({ connections: { main: SQLITE, other: SQLITE }, aliases: { primary: 'main' }, jobs: {}, coordinator: { log: { connection: 'other' } }, relays: [{ connection: 'main' }], sagas: {} }), manager);
    expect(manager.names()).toEqual(['main', 'other']);
    expect(manager.get('primary').name).toBe('main');
  });

  it.each([
    [{ connections: { main: SQLITE }, conections: {} }, 'conections'],
    [{ connections: undefined }, 'connections'],
    [{ connections: { main: SQLITE }, migrations: { nope: { directory: 'm' } } }, 'migrations.nope'],
    [{ connections: { main: SQLITE }, migrations: { main: {} } }, 'migrations.main.directory'],
  ])('rejects %j naming the field, before configuring anything', (config, field) => {
    expect(() => configureFrom(config as never, manager)).toThrow(expect.objectContaining({ constructor: ConfigError, field }));
    expect(manager.names()).toEqual([]);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'polyrecord-config-'));

  it('finds the nearest config file upward and loads TypeScript without a build step', async () => {
    const nested = join(dir, 'project', 'src', 'deep');
    mkdirSync(nested, { recursive: true });
    const file = join(dir, 'project', 'polyrecord.config.ts');
    writeFileSync(file, `const database: string = ':memory:'\nexport default { connections: { main: { driver: 'sqlite' as const, database } } }\n`);
    expect(findConfigFile(nested)).toBe(file);
    expect(findConfigFile(tmpdir())).toBeUndefined();
    expect(await loadConfig(file)).toEqual({ file, config: { connections: { main: SQLITE } } });
  });

  it('loads a CommonJS config file, whose exports are the config', async () => {
    const file = join(dir, 'polyrecord.config.cjs');
    writeFileSync(file, `module.exports = { connections: { main: { driver: 'sqlite', database: ':memory:' } } }\n`);
    expect((await loadConfig(file)).config).toEqual({ connections: { main: SQLITE } });
  });

  it('names the file when it is missing, broken or exports no object', async () => {
    const broken = join(dir, 'broken.config.mjs');
    writeFileSync(broken, 'export default {{\n');
    const empty = join(dir, 'empty.config.mjs');
    writeFileSync(empty, 'export const x = 1\n');
    for (const file of [join(dir, 'missing.config.ts'), broken, empty]) {
      const error = await loadConfig(file).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigFileError);
      expect((error as ConfigFileError).file).toBe(file);
      expect((error as Error).message).toContain(file);
    }
  });
});
