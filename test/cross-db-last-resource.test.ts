import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { ConfigError, ConnectionManager, CrossDbTransaction, CrossDbTransactionError, TransactionCoordinator, TX_LOG_TABLE, type ConnectionConfig } from '../src/index.js';
import { Account, balanceOf, createAccounts, transfer } from './support/accounts.js';
import { ourPreparedBranches } from './support/prepared.js';
import { describeEachServerPair } from './support/server-pairs.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { currentSession, rollBackLeftovers, runNodeId, waitForSessionsToEnd, provisionBanks } from './support/two-phase.js';


/**
 * `lastResource`: a two-phase participant chosen to carry the commit decision in its own
 * commit, instead of the coordinator log. `bank_l` and `bank_r` are the pair's databases,
 * `bank_s` a SQLite database, the log a TableLog on another SQLite database.
 */
describeEachServerPair('CrossDbTransaction with a chosen last resource', (pair) => {
  const nodeId = runNodeId(`xlr-${pair.key}`);
  const twoPhase = ['bank_l', 'bank_r'];
  const configs: Record<string, ConnectionConfig> = {};
  const drops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    const banks = await provisionBanks(pair, nodeId);
    drops.push(banks.drop);
    Object.assign(configs, banks.configs);
  });
  afterAll(async () => {
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  });
  beforeEach(async () => {
    for (const name of ['bank_l', 'bank_r', 'bank_s']) await createAccounts(ConnectionManager.get(name).knex);
  });
  afterEach(async () => {
    expect(await rollBackLeftovers(twoPhase, nodeId), 'prepared branches left behind by the test').toEqual([]);
  });

  const decisionIn = async (name: string, id: string) => ((await ConnectionManager.get(name).knex('polyrecord_tx_decisions').where({ id }).first()) as { state: string } | undefined)?.state;
  const loggedState = async (id: string) => ((await ConnectionManager.get('txlog').knex(TX_LOG_TABLE).where({ id }).first()) as { state: string } | undefined)?.state;
  const expectNoPreparedLeft = async () => {
    for (const name of twoPhase) expect(await ourPreparedBranches(name, nodeId)).toEqual([]);
  };

  for (const [other, chosen] of [
    ['bank_l', 'bank_r'],
    ['bank_r', 'bank_l'],
  ] as const) {
    it(`commits both sides with the decision in ${chosen}'s own commit, no coordinator log record: ${pair.label}, last resource ${chosen}`, async () => {
      const prepared: string[][] = [];
      const onPrepared = (e: { participants: string[] }) => prepared.push(e.participants);
      TransactionCoordinator.default.events.on('prepared', onPrepared);
      try {
        const id = await CrossDbTransaction.run(async (tx) => {
          await transfer(other, chosen, 10);
          return tx.id;
        }, { lastResource: chosen });
        expect([await balanceOf(other), await balanceOf(chosen)]).toEqual([990, 1010]);
        // Only the other branch prepared; the last resource committed in one step with the decision row.
        expect(prepared).toEqual([[other]]);
        expect(await decisionIn(chosen, id)).toBe('committed');
        expect(await loggedState(id)).toBeUndefined();
        await expectNoPreparedLeft();
      } finally {
        TransactionCoordinator.default.events.off('prepared', onPrepared);
      }
    });
  }

  it('a chosen last resource the callback did not touch is enlisted at commit to carry the decision', async () => {
    const id = await CrossDbTransaction.run(async (tx) => {
      await Account.using('bank_l').rawQuery('update accounts set balance = balance - 5 where id = 1');
      return tx.id;
    }, { lastResource: 'bank_r' });
    expect(await balanceOf('bank_l')).toBe(995);
    // bank_l's branch names bank_r as the holder of its decision: bank_r got the row, though the callback never touched it.
    expect(await decisionIn('bank_r', id)).toBe('committed');
    expect(await loggedState(id)).toBeUndefined();
    await expectNoPreparedLeft();
  });

  it('with a chosen last resource, a SQLite connection cannot join (there is one last resource)', async () => {
    const error = await CrossDbTransaction.run(() => transfer('bank_l', 'bank_s', 10), { lastResource: 'bank_r' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    expect((error as Error).message).toMatch(/"bank_r" already is the one such participant allowed \(the last resource\)/);
    expect([await balanceOf('bank_l'), await balanceOf('bank_s')]).toEqual([1000, 1000]);
    await expectNoPreparedLeft();
  });

  it('recovery recorded an abort in the last resource first: the coordinator obeys it and rolls back both', async () => {
    const error = await CrossDbTransaction.run(async (tx) => {
      await transfer('bank_l', 'bank_r', 10);
      // Recovery's referee row, written from another session before the coordinator's decision.
      await ConnectionManager.get('bank_r').knex('polyrecord_tx_decisions').insert({ id: tx.id, state: 'aborted', created_at: new Date().toISOString() });
    }, { lastResource: 'bank_r' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrossDbTransactionError);
    expect((error as Error).message).toMatch(/the last resource "bank_r" did not commit; every branch was rolled back/);
    expect([await balanceOf('bank_l'), await balanceOf('bank_r')]).toEqual([1000, 1000]);
    await expectNoPreparedLeft();
  });

  /** `bank_p`: bank_r's database through a proxy the test can cut. */
  const withProxiedRight = async (test: (proxy: TcpProxy) => Promise<void>) => {
    const proxy = await startTcpProxy((configs.bank_r as { url: string }).url);
    ConnectionManager.configure('bank_p', { url: proxy.url });
    try {
      await test(proxy);
    } finally {
      proxy.restore();
      await ConnectionManager.remove('bank_p');
      await proxy.close();
    }
  };

  it('the last resource lost while committing, its decision readable: the referee row says aborted, both roll back', async () => {
    await withProxiedRight(async (proxy) => {
      // The last resource's session breaks once the other branch prepared; new sessions get through.
      const onPrepared = () => {
        proxy.cut();
        proxy.restore();
      };
      TransactionCoordinator.default.events.on('prepared', onPrepared);
      try {
        const error = await CrossDbTransaction.run(() => transfer('bank_l', 'bank_p', 10), { lastResource: 'bank_p' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CrossDbTransactionError);
        expect((error as Error).message).toMatch(/the last resource "bank_p" did not commit; every branch was rolled back/);
        expect(await decisionIn('bank_r', (error as CrossDbTransactionError).transactionId)).toBe('aborted');
      } finally {
        TransactionCoordinator.default.events.off('prepared', onPrepared);
      }
    });
    expect([await balanceOf('bank_l'), await balanceOf('bank_r')]).toEqual([1000, 1000]);
    await expectNoPreparedLeft();
  });

  it('the last resource unreachable while committing: in doubt, nothing rolled back, recovery settles it from the last resource', async () => {
    let sessions: string[] = [];
    let id = '';
    await withProxiedRight(async (proxy) => {
      const onPrepared = () => proxy.cut();
      TransactionCoordinator.default.events.on('prepared', onPrepared);
      try {
        const error = await CrossDbTransaction.run(async (tx) => {
          id = tx.id;
          await transfer('bank_l', 'bank_p', 10);
          sessions = [await currentSession('bank_l')];
        }, { lastResource: 'bank_p' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CrossDbTransactionError);
        expect((error as Error).message).toMatch(/did not say whether it committed.*stay prepared/);
      } finally {
        TransactionCoordinator.default.events.off('prepared', onPrepared);
      }
      // bank_l's branch stays prepared, naming bank_p as the holder of its decision.
      await waitForSessionsToEnd('bank_l', sessions);
      expect(await ourPreparedBranches('bank_l', nodeId)).toEqual([`polyrec:${nodeId}:${id}:b0~bank_p`]);
      proxy.restore();
      const result = await CrossDbTransaction.recover({ minAgeMs: 0, connections: twoPhase });
      expect(result.rolledBack.map((b) => b.transactionId)).toEqual([id]);
    });
    expect(await decisionIn('bank_r', id)).toBe('aborted');
    expect([await balanceOf('bank_l'), await balanceOf('bank_r')]).toEqual([1000, 1000]);
    await expectNoPreparedLeft();
  });

  it('a connection without two-phase commit cannot be chosen', async () => {
    const error = await CrossDbTransaction.run(() => undefined, { lastResource: 'bank_s' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/"bank_s" has no two-phase commit/);
  });
});

