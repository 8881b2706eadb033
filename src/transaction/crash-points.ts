// Read once, at load: the crash tests set it in the environment of the child process they start.
const armedAt = process.env.POLYRECORD_TEST_CRASH_AT || undefined;

/**
 * Whether this process runs a crash test. Callers check it before {@link crashPoint}, so a
 * production call path pays one boolean check per point: no call, no point name built.
 */
export const crashTesting = armedAt !== undefined;

/**
 * Test-only fault injection: when `POLYRECORD_TEST_CRASH_AT` names this point, the
 * process kills itself with SIGKILL right here, as a power cut would. The crash tests
 * set it in a child process; nothing else should.
 */
export function crashPoint(name: string): void {
  if (name === armedAt) process.kill(process.pid, 'SIGKILL');
}
