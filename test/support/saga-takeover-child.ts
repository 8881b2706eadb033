// A process working on a run of the "takeover" saga, for test/saga-takeover.test.ts. It
// says it is on host `host` (so the parent, on this machine's real host name, cannot check
// whether it is alive and may take its run over with `resume({ staleMs })`), then either
// starts a run (`mode: 'run'`) or resumes the saga's unfinished runs (`mode: 'resume'`,
// onResume 'finish'). Either way it hangs in step `approve`, prints `hanging <runId>`, waits
// for a line on stdin, goes on, and prints one JSON line with how it ended.
import os from 'node:os';
import { syncBuiltinESMExports } from 'node:module';
import { ConnectionManager, SagaTakenOverError } from '../../src/index.js';
import { newTakeoverProbe, takeoverSaga } from './takeover-saga.js';

const { primary, host, mode, key } = JSON.parse(process.env.SAGA_TAKEOVER_CHILD!) as { primary: object; host: string; mode: 'run' | 'resume'; key?: string };
(os as { hostname: () => string }).hostname = () => host;
syncBuiltinESMExports();
ConnectionManager.configure('primary', primary);

const probe = newTakeoverProbe('child');
const go = new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
probe.hang = { reached: (runId) => console.log(`hanging ${runId}`), until: go };
const saga = takeoverSaga({ log: 'primary', onResume: 'finish', retry: { attempts: 2, baseMs: 5 } }, probe);

let report: Record<string, unknown>;
try {
  const value = mode === 'run' ? await saga.run({ key: key! }) : await saga.resume({ staleMs: 0 });
  report = { outcome: 'resolved', value, calls: probe.calls };
} catch (error) {
  const e = error as SagaTakenOverError;
  report = { outcome: 'rejected', name: e.name, code: e.code, takenOver: error instanceof SagaTakenOverError, sagaName: e.sagaName, runId: e.runId, calls: probe.calls };
}
console.log(JSON.stringify(report));
await ConnectionManager.closeAll();
process.exit(0);
