import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileFixture } from './support/compile-fixture.js';

const root = resolve(import.meta.dirname, '..');

/** The environment of a new user: no database server configured, not in CI. */
function newUserEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['CI', 'POLYRECORD_PG_URL', 'POLYRECORD_MYSQL_URL', 'POLYRECORD_PG_RESTART']) delete env[name];
  return env;
}

describe('what a passing run prints', () => {
  it('a connection a server refuses fails the calls that needed it, and its warnings are single lines without stacks or passwords', () => {
    const script = compileFixture('test/fixtures/refused-connection.ts');
    const result = spawnSync(process.execPath, [script], { cwd: root, encoding: 'utf8' });
    // A refused connection is a ConnectionLostError: the database could not be reached.
    expect(JSON.parse(result.stdout.trim())).toEqual({ ok: [false, false], errors: ['ConnectionLostError', 'ConnectionLostError'] });
    const warnings = result.stderr.trim().split('\n');
    expect(warnings.length).toBeGreaterThan(0);
    for (const line of warnings) expect(line).toMatch(/^\[polyrecord:refused-(pg|mysql)\] Acquire connection error: .*ECONNREFUSED/);
    expect(result.stderr).not.toContain('secret');
  }, 60_000);

  it('`npm test` without servers says once, after the summary, what it skipped and which variables enable it', () => {
    const result = spawnSync(join(root, 'node_modules', '.bin', 'vitest'), ['run', 'test/errors.test.ts', 'test/statement-limit.serial.test.ts'], { cwd: root, encoding: 'utf8', env: newUserEnv() });
    expect(result.status).toBe(0);
    const output = result.stdout.replace(/\x1b\[[0-9;]*m/g, '');
    expect(output.match(/\[polyrecord\]/g)).toHaveLength(1);
    const notice = output.slice(output.indexOf('[polyrecord]'));
    expect(output.indexOf('Test Files')).toBeLessThan(output.indexOf('[polyrecord]'));
    for (const variable of ['POLYRECORD_PG_URL', 'POLYRECORD_MYSQL_URL', 'POLYRECORD_PG_RESTART']) expect(notice).toContain(variable);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
