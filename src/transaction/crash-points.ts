/**
 * Test-only fault injection: when `POLYRECORD_TEST_CRASH_AT` names this point, the
 * process kills itself with SIGKILL right here, as a power cut would. The crash tests
 * set it in a child process; nothing else should.
 */
export function crashPoint(name: string): void {
  if (process.env.POLYRECORD_TEST_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
