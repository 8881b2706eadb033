// The saga of test/saga-takeover.test.ts, shared with its child process
// (test/support/saga-takeover-child.ts) so both processes run the same definition:
//   reserve (writes a mark, undo deletes it) → approve (may hang; writes nothing) → notify (writes a mark; last, no undo).
import { ConnectionManager, Saga, type SagaOptions } from '../../src/index.js';

export const TAKEOVER_SAGA = 'takeover';

/** What one process's copy of the saga did, and where it should hang. */
export interface TakeoverProbe {
  /** Written into the marks, to tell the processes apart. */
  readonly who: string;
  /** `do:<step>` and `undo:<step>`, in call order. */
  readonly calls: string[];
  /** Hang in step `approve` until `until` resolves, after calling `reached` with the run id. */
  hang?: { reached(runId: string): void; until: Promise<void> };
}

export function newTakeoverProbe(who: string): TakeoverProbe {
  return { who, calls: [] };
}

export async function createTakeoverTables(): Promise<void> {
  await ConnectionManager.get('primary').knex.schema.createTable('takeover_marks', (t) => {
    t.string('run_key', 64).notNullable();
    t.string('step', 32).notNullable();
    t.string('by', 32).notNullable();
  });
}

/** The marks the steps left, as `<run_key>:<step>:<by>`, sorted. */
export async function takeoverMarks(): Promise<string[]> {
  const rows = await ConnectionManager.get('primary').knex('takeover_marks').select('run_key', 'step', 'by');
  return rows.map((r) => `${r.run_key}:${r.step}:${r.by}`).sort();
}

export function takeoverSaga(options: SagaOptions, probe: TakeoverProbe) {
  const marks = () => ConnectionManager.get('primary').knex('takeover_marks');
  return new Saga<{ key: string }>(TAKEOVER_SAGA, options)
    .step(
      'reserve',
      async ({ key }) => {
        probe.calls.push('do:reserve');
        await marks().insert({ run_key: key, step: 'reserve', by: probe.who });
        return { key };
      },
      async ({ key }) => {
        probe.calls.push('undo:reserve');
        await marks().where({ run_key: key, step: 'reserve' }).delete();
      },
    )
    .step('approve', async (_input, _results, context) => {
      probe.calls.push('do:approve');
      if (probe.hang) {
        probe.hang.reached(context.runId!);
        await probe.hang.until;
      }
      return { approved: true };
    })
    .step('notify', async ({ key }) => {
      probe.calls.push('do:notify');
      await marks().insert({ run_key: key, step: 'notify', by: probe.who });
      return { notified: true };
    });
}
