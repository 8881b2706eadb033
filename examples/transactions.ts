/**
 * Local transactions: the ambient transaction every model query joins, rollback on error,
 * nested calls as savepoints, afterCommit/afterRollback callbacks, trx.table()/trx.query()
 * for SQL polyrecord does not model, and what a transaction does not cover.
 *
 * SQLite only. Run: npm run build && npx tsc -p tsconfig.run.json && node .build/examples/transactions.js
 */
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, TransactionError, type Transaction } from 'polyrecord';
import { freshSqliteFile } from './support.js';

@Model({ connection: 'bank', table: 'accounts' })
class Account extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) owner!: string;
  @Column({ type: 'integer' }) balance!: number;
}

@Model({ connection: 'audit', table: 'audit_log' })
class AuditEntry extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) message!: string;
}

/** Plain application code: it takes no transaction argument, yet joins whatever transaction is open. */
async function moveMoney(from: string, to: string, amount: number): Promise<void> {
  const source = (await Account.where({ owner: from }).first())!;
  const target = (await Account.where({ owner: to }).first())!;
  source.balance -= amount;
  target.balance += amount;
  await source.save();
  await target.save();
  if (source.balance < 0) throw new Error(`${from} cannot pay ${amount}`);
}

const balances = async () => (await Account.orderBy('owner').all()).map((a) => `${a.owner}=${a.balance}`).join(' ');

async function main(): Promise<void> {
  ConnectionManager.configure('bank', { driver: 'sqlite', database: freshSqliteFile('transactions-bank') });
  ConnectionManager.configure('audit', { driver: 'sqlite', database: freshSqliteFile('transactions-audit') });
  await ConnectionManager.get('bank').knex.schema.createTable('accounts', (t) => {
    t.increments('id');
    t.string('owner').notNullable().unique();
    t.integer('balance').notNullable();
  });
  await ConnectionManager.get('audit').knex.schema.createTable('audit_log', (t) => {
    t.increments('id');
    t.string('message').notNullable();
  });

  console.log('== an ambient transaction: every model query on "bank" inside the callback joins it');
  const opened = await ConnectionManager.transaction('bank', async (trx) => {
    await Account.bulkInsert([
      { owner: 'alice', balance: 100 },
      { owner: 'bob', balance: 50 },
    ]);
    await moveMoney('alice', 'bob', 10);
    console.log(`  inside (depth ${trx.depth}): ${await balances()}`);
    return 'opened two accounts';
  });
  console.log(`  committed, callback returned "${opened}": ${await balances()}`);

  console.log('\n== a thrown error rolls everything back and is rethrown');
  try {
    await Account.transaction(() => moveMoney('bob', 'alice', 500));
  } catch (error) {
    console.log(`  caught "${(error as Error).message}"; balances unchanged: ${await balances()}`);
  }

  console.log('\n== nested calls are savepoints: an inner failure undoes only the inner work');
  await Account.transaction(async () => {
    await moveMoney('alice', 'bob', 5);
    try {
      await Account.transaction(async (savepoint) => {
        console.log(`  savepoint depth ${savepoint.depth}`);
        await moveMoney('bob', 'alice', 1000);
      });
    } catch (error) {
      console.log(`  inner failed ("${(error as Error).message}"), outer goes on`);
    }
    await moveMoney('bob', 'alice', 1);
  });
  console.log(`  outer committed: ${await balances()}`);

  console.log('\n== afterCommit / afterRollback');
  const notify = (text: string) => () => console.log(`  -> ${text}`);
  await Account.transaction(async (trx) => {
    trx.afterCommit(notify('afterCommit: send the receipt e-mail'));
    trx.afterRollback(notify('afterRollback: never printed, the transaction commits'));
    await Account.transaction(async (savepoint) => {
      // A released savepoint hands its callbacks to the outer transaction: this waits for the real commit.
      savepoint.afterCommit(notify('savepoint afterCommit: ran only once the outer transaction committed'));
      await moveMoney('alice', 'bob', 1);
    });
    await Account.transaction(async (savepoint) => {
      savepoint.afterRollback(notify('savepoint afterRollback: runs as soon as the savepoint rolls back'));
      throw new Error('undo this part');
    }).catch(() => undefined);
    console.log('  about to commit');
  });
  await Account.transaction(async (trx) => {
    trx.afterCommit(notify('afterCommit: never printed, the transaction rolls back'));
    trx.afterRollback(notify('afterRollback: the transfer was undone'));
    await moveMoney('bob', 'alice', 1_000_000);
  }).catch(() => undefined);

  console.log('\n== trx.table() and trx.query(): knex and raw SQL inside the transaction');
  await ConnectionManager.transaction('bank', async (trx) => {
    await trx.table('accounts').insert({ owner: 'carol', balance: 0 });
    const [row] = await trx.query<{ n: number; total: number }>('select count(*) as n, sum(balance) as total from accounts where balance >= ?', [0]);
    console.log(`  ${row!.n} accounts holding ${row!.total} in all (carol is visible inside)`);
    // On SQLite, do NOT use ConnectionManager.get('bank').knex here: the transaction holds the
    // only connection, so that query would wait for the transaction to end, which waits for it.
  });

  console.log('\n== concurrent savepoints on one transaction run one after another');
  const order: string[] = [];
  await Account.transaction(async () => {
    await Promise.all(
      ['first', 'second'].map((label) =>
        Account.transaction(async () => {
          order.push(`${label} starts`);
          await new Promise((resolve) => setTimeout(resolve, 10));
          await moveMoney('alice', 'carol', 1);
          order.push(`${label} ends`);
        }),
      ),
    );
  });
  console.log(`  ${order.join(', ')}`);

  console.log('\n== a transaction covers one connection only');
  await Account.transaction(async () => {
    await AuditEntry.create({ message: 'transfer attempted' }); // on "audit": commits on its own
    await moveMoney('carol', 'alice', 99);
  }).catch((error: Error) => console.log(`  bank rolled back ("${error.message}")`));
  console.log(`  audit_log still has ${await AuditEntry.count()} entry: "${(await AuditEntry.first())!.message}"`);

  console.log('\n== a finished transaction refuses queries');
  let finished: Transaction | undefined;
  await Account.transaction(async (trx) => {
    finished = trx;
  });
  try {
    await finished!.query('select 1');
  } catch (error) {
    if (!(error instanceof TransactionError)) throw error;
    console.log(`  ${error.name}: ${error.message}`);
  }

  console.log(`\nfinal balances: ${await balances()}`);
  await ConnectionManager.closeAll();
}

main().catch(async (error: unknown) => {
  console.error(error);
  await ConnectionManager.closeAll();
  process.exitCode = 1;
});
