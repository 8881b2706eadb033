import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

// `npm run check:deps` as part of the suite, so CI fails on an import that runs up the layers
// or a runtime import circle (rules and reasons: .dependency-cruiser.cjs, docs/architecture.md).
describe('the architecture', () => {
  it('has no import from a lower layer to a higher one and no runtime import circle', () => {
    const check = spawnSync(process.execPath, ['scripts/check-deps.mjs'], { cwd: root, encoding: 'utf8' });
    // On failure the message is the checker's list of violations.
    expect(check.status, `${check.stderr}${check.stdout}`).toBe(0);
  }, 120_000);
});
