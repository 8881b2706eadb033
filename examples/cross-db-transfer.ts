/**
 * A money transfer across PostgreSQL and MariaDB with CrossDbTransaction (two-phase commit):
 * one that commits on both databases, one that fails and is rolled back on both, a nested
 * transaction() that becomes a savepoint of a branch, and recover() finishing two
 * transfers whose coordinator was killed (SIGKILL) mid-protocol: one before its commit
 * decision (rolled back) and one after it (committed).
 *
 * Needs PostgreSQL with max_prepared_transactions > 0 and MariaDB (or MySQL):
 *   POLYRECORD_PG_URL=postgres://postgres@127.0.0.1:5432/test POLYRECORD_MYSQL_URL=mysql://root@127.0.0.1:3306/test \
 *     node .build/examples/cross-db-transfer.js
 * Without both variables it says so and exits. It creates a table with a unique name in each
 * database, keeps its coordinator log in examples/data/, and drops the tables at the end.
 *
 * Build: npm run build && npx tsc -p tsconfig.run.json
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  ActiveRecord,
  Column,
  ConnectionManager,
  CrossDbTransaction,
  Model,
  PrimaryKey,
  TableLog,
  TransactionCoordinator,
  TX_LOG_TABLE,
  type ParticipantRecord,
  type RecoveryResult,
  type TxRecord,
} from 'polyrecord';
import { freshSqliteFile } from './support.js';

const pgUrl = process.env.POLYRECORD_PG_URL;
const mysqlUrl = process.env.POLYRECORD_MYSQL_URL;
// The example runs itself as a child process to play a coordinator that gets killed.
const crashAt = process.env.CROSS_DB_EXAMPLE_CRASH as 'after-prepares' | 'after-decision' | undefined;
const table = process.env.CROSS_DB_EXAMPLE_TABLE ?? `example_xdb_accounts_${process.pid}`;
// Every process that coordinates or recovers these transactions uses the same node id and the same log.
const NODE_ID = 'cross-db-example';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An account. The same table exists on both connections; `using('maria_bank')` reaches the MariaDB one. */
@Model({ connection: 'pg_bank', table })
class Account extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) owner!: string;
  @Column({ type: 'integer' }) balance!: number;
}

function configure(logFile: string): void {
  ConnectionManager.configure('pg_bank', { url: pgUrl });
  ConnectionManager.configure('maria_bank', { url: mysqlUrl });
  // The coordinator log: a SQLite file that takes no part in the transfers.
  ConnectionManager.configure('txlog', { driver: 'sqlite', database: logFile });
  CrossDbTransaction.configure({ log: 'txlog', nodeId: NODE_ID });
}

/**
 * Plain application code: no transaction parameter. Inside CrossDbTransaction.run() each
 * model query joins the branch of its connection (PostgreSQL here, MariaDB through using()).
 * Read-modify-write is fine in this single-writer example; concurrent code should use an
 * atomic `update … set balance = balance - ?` instead.
 */
async function transfer(amount: number): Promise<void> {
  const alice = await Account.findOrFail(1); // PostgreSQL: enlists its branch
  const bob = await Account.using('maria_bank').findOrFail(1); // MariaDB: enlists a second branch
  alice.balance -= amount;
  bob.balance += amount;
  await alice.save();
  await bob.save();
  if (alice.balance < 0) throw new Error(`alice cannot pay ${amount}`);
}

const balances = async () => `alice (PostgreSQL) ${(await Account.findOrFail(1)).balance}, bob (MariaDB) ${(await Account.using('maria_bank').findOrFail(1)).balance}`;

/** Our node's in-doubt (prepared) branches on both servers, as gids. */
async function inDoubt(): Promise<string[]> {
  const ours = `polyrec:${NODE_ID}:`;
  const pg = await ConnectionManager.get('pg_bank').knex.raw<{ rows: { gid: string }[] }>('select gid from pg_prepared_xacts where database = current_database()');
  const [xa] = await ConnectionManager.get('maria_bank').knex.raw<[{ gtrid_length: number; data: Buffer | string }[]]>('XA RECOVER');
  const xids = xa.map((row) => {
    const data = Buffer.isBuffer(row.data) ? row.data.toString('latin1') : String(row.data);
    return `${data.slice(0, Number(row.gtrid_length))} / ${data.slice(Number(row.gtrid_length))}`;
  });
  return [...pg.rows.map((r) => `PostgreSQL gid ${r.gid}`), ...xids.map((x) => `MariaDB xid ${x}`)].filter((g) => g.includes(ours));
}

const describe = (result: RecoveryResult) =>
  `committed ${result.committed.length}, rolled back ${result.rolledBack.length}, unknown ${result.unknown.length}` +
  [...result.committed, ...result.rolledBack].map((b) => `\n    ${result.committed.includes(b) ? 'committed' : 'rolled back'} ${b.connection}: ${b.gid}`).join('');

// ---- the child: a coordinator killed mid-protocol ------------------------------------------

/** A TableLog whose process "loses power" right after forcing the commit decision. */
class PowerCutAfterDecision extends TableLog {
  override async decide(id: string, state: 'committing' | 'aborted', participants: ParticipantRecord[]): Promise<TxRecord> {
    const standing = await super.decide(id, state, participants);
    process.kill(process.pid, 'SIGKILL');
    return standing;
  }
}

async function child(): Promise<void> {
  configure(process.env.CROSS_DB_EXAMPLE_LOG!);
  if (crashAt === 'after-prepares') {
    // Both branches are prepared, the decision is not written yet.
    TransactionCoordinator.default.events.on('prepared', () => process.kill(process.pid, 'SIGKILL'));
    await CrossDbTransaction.run(() => transfer(100));
  } else {
    await CrossDbTransaction.run(() => transfer(100), { log: new PowerCutAfterDecision({ connection: 'txlog' }) });
  }
  throw new Error('the child should have been killed');
}

/** Runs this file as a coordinator that is killed at `point`; resolves once it is dead. */
function killedCoordinator(point: 'after-prepares' | 'after-decision', logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, CROSS_DB_EXAMPLE_CRASH: point, CROSS_DB_EXAMPLE_TABLE: table, CROSS_DB_EXAMPLE_LOG: logFile },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    proc.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`the coordinator child exited with ${code}`))));
  });
}

// ---- the walk-through --------------------------------------------------------------------

async function main(): Promise<void> {
  const logFile = freshSqliteFile('cross-db-txlog');
  configure(logFile);
  const coordinator = TransactionCoordinator.default;
  coordinator.events.on('prepared', (e) => console.log(`  [event] prepared: ${e.participants.join(', ')}`));
  coordinator.events.on('committed', (e) => console.log(`  [event] committed: ${e.participants.join(', ')} in ${e.durationMs} ms`));
  coordinator.events.on('aborted', (e) => console.log(`  [event] aborted: ${(e.reason as Error).message}`));
  coordinator.events.on('commitPending', (e) => console.log(`  [event] commitPending on ${e.connection}: recovery will finish it`));

  for (const name of ['pg_bank', 'maria_bank']) {
    const knex = ConnectionManager.get(name).knex;
    await knex.schema.createTable(table, (t) => {
      t.integer('id').primary();
      t.string('owner', 64).notNullable();
      t.integer('balance').notNullable();
    });
  }
  await Account.create({ id: 1, owner: 'alice', balance: 1000 });
  await Account.using('maria_bank').create({ id: 1, owner: 'bob', balance: 1000 });

  try {
    console.log(`== table ${table} in both databases: ${await balances()}`);

    console.log('\n== a transfer across PostgreSQL and MariaDB commits on both');
    const id = await CrossDbTransaction.run(async (tx) => {
      await transfer(250);
      // A nested transaction() is a savepoint of the PostgreSQL branch: its failure undoes only its own work.
      await Account.transaction(async () => {
        const alice = await Account.findOrFail(1);
        alice.balance -= 1; // a fee…
        await alice.save();
        throw new Error('fee waived');
      }).catch((error: Error) => console.log(`  savepoint rolled back ("${error.message}"), the transfer goes on`));
      const running = coordinator.active().find((t) => t.id === tx.id)!;
      console.log(`  transaction ${tx.id}: ${running.participants.map((p) => `${p.connection} ${p.outcome}`).join(', ')}`);
      return tx.id;
    });
    const logged = await ConnectionManager.get('txlog').knex(TX_LOG_TABLE).where({ id }).first();
    // Done marks are written in groups, up to 50 ms after the commit: the decision itself is durable already.
    console.log(`  ${await balances()}; coordinator log: ${logged.state}${logged.state === 'committing' ? ' (decided; the done mark follows within 50 ms)' : ''}`);

    console.log('\n== a failed transfer rolls back on both');
    try {
      await CrossDbTransaction.run(() => transfer(5000));
    } catch (error) {
      // The callback's error is rethrown unchanged; both branches were rolled back before.
      console.log(`  caught "${(error as Error).message}": ${await balances()}`);
    }

    console.log('\n== the coordinator is killed after both prepares, before its decision');
    await killedCoordinator('after-prepares', logFile);
    await sleep(500); // a dead session's XA branch becomes reachable from other sessions within moments
    console.log(`  in doubt:\n    ${(await inDoubt()).join('\n    ')}`);
    // minAgeMs: 0 because we know the coordinator is dead; in production keep the default,
    // which leaves young branches (probably a live transaction's) alone.
    let result = await CrossDbTransaction.recover({ minAgeMs: 0, connections: ['pg_bank', 'maria_bank'] });
    console.log(`  recover(): no decision, so abort: ${describe(result)}`);
    console.log(`  ${await balances()}`);

    console.log('\n== the coordinator is killed right after forcing its commit decision');
    await killedCoordinator('after-decision', logFile);
    await sleep(500);
    console.log(`  in doubt:\n    ${(await inDoubt()).join('\n    ')}`);
    result = await CrossDbTransaction.recover({ minAgeMs: 0, connections: ['pg_bank', 'maria_bank'] });
    console.log(`  recover(): the log says commit: ${describe(result)}`);
    console.log(`  ${await balances()}`);

    result = await CrossDbTransaction.recover({ minAgeMs: 0, connections: ['pg_bank', 'maria_bank'] });
    console.log(`\n== recover() again: ${describe(result)}; in doubt: ${(await inDoubt()).length}`);
  } finally {
    // Nothing of ours may stay prepared: a prepared branch keeps its locks and would block the DROP.
    await CrossDbTransaction.recover({ minAgeMs: 0, connections: ['pg_bank', 'maria_bank'] });
    for (const name of ['pg_bank', 'maria_bank']) await ConnectionManager.get(name).knex.schema.dropTableIfExists(table);
    await ConnectionManager.closeAll();
  }
}

if (!pgUrl || !mysqlUrl) {
  console.log('cross-db-transfer: set POLYRECORD_PG_URL (PostgreSQL with max_prepared_transactions > 0) and POLYRECORD_MYSQL_URL (MariaDB or MySQL) to run this example');
} else if (crashAt) {
  await child();
} else {
  await main();
}
