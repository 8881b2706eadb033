import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectionManager, FileLog, TableLog, TX_LOG_TABLE, type CoordinatorLog } from '../src/index.js';
import { describeEachDialect } from './support/dialects.js';
import { countQueries } from './support/query-count.js';

let counter = 0;
/** A transaction id of the form the coordinator makes: creation time in base 36, then 10 characters. */
const transactionId = () => `${Date.now().toString(36).padStart(9, '0')}${String(++counter).padStart(10, '0')}`;

/**
 * The TableLog's group commit: decisions (and done marks) made while an earlier one is
 * being written go out together in one statement, and every decision still gets the
 * decision that stands for its transaction, the first one written.
 */
describeEachDialect('TableLog group commit', (dialect) => {
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const provisioned = await dialect.provision(1);
    drop = provisioned.drop;
    ConnectionManager.configure('tl_log', provisioned.configs[0]!);
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    await drop();
  });

  /** Counts the log table's INSERT and UPDATE statements sent while `fn` runs. */
  const countWrites = async (fn: () => Promise<unknown>) => {
    const { queries } = await countQueries(fn, { connection: 'tl_log' });
    const writes = { insert: 0, update: 0 };
    for (const query of queries) {
      const sql = query.sql.toLowerCase();
      if (!sql.includes(TX_LOG_TABLE)) continue;
      if (sql.startsWith('insert')) writes.insert++;
      if (sql.startsWith('update')) writes.update++;
    }
    return writes;
  };

  it('a delegated record (a late last resource) stands against later decisions, is not pending, and the done mark turns it committed: TableLog and FileLog', async () => {
    const logs: CoordinatorLog[] = [new TableLog({ connection: 'tl_log' }), new FileLog({ path: join(mkdtempSync(join(tmpdir(), 'polyrecord-filelog-')), 'tx.jsonl') })];
    for (const log of logs) {
      await log.ensure();
      const id = transactionId();
      const participants = [
        { connection: 'bank_l', gtrid: `polyrec:n:${id}`, bqual: 'b0', lastResource: false },
        { connection: 'ledger', gtrid: `polyrec:n:${id}`, bqual: 'b1', lastResource: true },
      ];
      expect(await log.decide(id, 'delegated', participants)).toMatchObject({ id, state: 'delegated', participants });
      // Recovery's abort (or a commit record) meets it: the pointer stands.
      expect((await log.decide(id, 'aborted', [])).state).toBe('delegated');
      expect((await log.pending()).map((r) => r.id)).not.toContain(id);
      // complete() resolves once its (grouped) write is done.
      await log.complete(id);
      expect((await log.get(id))?.state).toBe('committed');
    }
  });

  it('writes the decisions made while one is being written in one INSERT, each durable', async () => {
    const log = new TableLog({ connection: 'tl_log' });
    await log.ensure();
    const ids = Array.from({ length: 6 }, transactionId);
    let records: Awaited<ReturnType<TableLog['decide']>>[] = [];
    const writes = await countWrites(async () => {
      records = await Promise.all(ids.map((id) => log.decide(id, 'committing', [{ connection: 'a', gtrid: `g${id}`, bqual: 'b0', lastResource: false }])));
    });
    // The first goes out alone at once; the five made while it was in flight go out together.
    expect(writes.insert).toBe(2);
    expect(records.map((r) => [r.id, r.state])).toEqual(ids.map((id) => [id, 'committing']));
    for (const id of ids) expect(await new TableLog({ connection: 'tl_log' }).get(id)).toMatchObject({ id, state: 'committing', participants: [{ gtrid: `g${id}` }] });
  });

  it('a group with a transaction already decided: that one gets the standing decision, the others their own', async () => {
    const log = new TableLog({ connection: 'tl_log' });
    await log.ensure();
    const [first, decided, other] = [transactionId(), transactionId(), transactionId()];
    // Recovery recorded an abort for `decided` first (another process: another TableLog).
    await new TableLog({ connection: 'tl_log' }).decide(decided, 'aborted', []);
    const records = await Promise.all([log.decide(first, 'committing', []), log.decide(decided, 'committing', []), log.decide(other, 'committing', [])]);
    expect(records.map((r) => r.state)).toEqual(['committing', 'aborted', 'committing']);
    expect((await log.get(decided))!.state).toBe('aborted');
    expect((await log.get(other))!.state).toBe('committing');
  });

  it('marks transactions done in one UPDATE when they finish within the gathering time', async () => {
    const log = new TableLog({ connection: 'tl_log' });
    await log.ensure();
    const ids = Array.from({ length: 5 }, transactionId);
    for (const id of ids) await log.decide(id, 'committing', []);
    const writes = await countWrites(() => Promise.all(ids.map((id) => log.complete(id))));
    expect(writes.update).toBe(1);
    for (const id of ids) expect((await log.get(id))!.state).toBe('committed');
    expect((await log.pending()).map((r) => r.id)).not.toEqual(expect.arrayContaining([ids[0]]));
  });
});
