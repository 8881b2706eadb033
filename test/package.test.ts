import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

describe('the published package', () => {
  it('builds to dist/ and resolves `import { ConnectionManager } from "polyrecord"` for an installing user', () => {
    execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
    expect(existsSync(join(root, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(root, 'dist', 'index.d.ts'))).toBe(true);

    // A user's project with polyrecord installed (linked) in its node_modules.
    const consumer = join(root, '.build', `consumer-${process.pid}`);
    rmSync(consumer, { recursive: true, force: true });
    mkdirSync(join(consumer, 'node_modules'), { recursive: true });
    symlinkSync(root, join(consumer, 'node_modules', 'polyrecord'), 'dir');
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
    writeFileSync(
      join(consumer, 'main.js'),
      `import { ConnectionManager, ActiveRecord, ConfigError } from 'polyrecord';
       ConnectionManager.configure('db', { driver: 'sqlite', database: ':memory:' });
       const rows = (await ConnectionManager.get('db').execute('select 41 + 1 as answer', [])).rows;
       await ConnectionManager.closeAll();
       console.log(JSON.stringify({ answer: rows[0].answer, base: typeof ActiveRecord, error: new ConfigError('x', 'y') instanceof Error }));`,
    );
    const output = execFileSync(process.execPath, ['main.js'], { cwd: consumer, encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ answer: 42, base: 'function', error: true });
    rmSync(consumer, { recursive: true, force: true });
  }, 60_000);
});
