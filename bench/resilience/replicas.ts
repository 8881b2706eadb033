/**
 * Read replicas on PostgreSQL (issue 9): read throughput of many concurrent finds with the
 * primary alone and with one streaming replica (scripts/replicas.sh), and what read-your-writes
 * costs when each reader's scope also writes. Primary and replica run on this one machine, so
 * the figure is what routing costs, not extra capacity: on separate hosts a replica adds its own.
 */
import { ActiveRecord, Column, ConnectionManager, Model, PrimaryKey, type ConnectionConfig } from 'polyrecord';
import pg from 'pg';
import { collectGarbage } from '../measure.js';
import { ITEM_ROWS, freshItems } from './items.js';
import { check, envInt, fmt, log, sleep, withCleanup, type ExtraResult, type ServerUrls } from '../sync/support.js';

@Model({ connection: 'replicated', table: 'items' })
class ReplicatedItem extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
}

const ROWS = ITEM_ROWS;
const READERS = 8;

/** Waits until the replica has the database and its rows. */
async function replicated(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      if ((await client.query('select count(*)::int as n from items')).rows[0].n === ROWS) return;
    } catch {
      // not there yet
    } finally {
      await client.end().catch(() => undefined);
    }
    await sleep(50);
  }
  throw new Error('the replica never caught up');
}

export async function benchReplicas(urls: ServerUrls): Promise<ExtraResult> {
  const finds = envInt('BENCH_REPLICA_FINDS', 20_000);
  return withCleanup(async (defer) => {
    const db = await freshItems(urls.pg!, 'replicas', defer);
    const replicaUrl = Object.assign(new URL(urls.pgReplica!), { pathname: `/${db.name}` }).toString();
    await replicated(replicaUrl);

    const variants: ReadonlyArray<{ label: string; config: ConnectionConfig; writeEvery: number }> = [
      { label: 'primary alone', config: { url: db.url }, writeEvery: 0 },
      { label: 'primary + 1 replica', config: { url: db.url, replicas: [replicaUrl] }, writeEvery: 0 },
      { label: 'primary alone, a write every 20 reads per scope', config: { url: db.url }, writeEvery: 20 },
      { label: 'primary + 1 replica, a write every 20 reads per scope', config: { url: db.url, replicas: [replicaUrl] }, writeEvery: 20 },
    ];
    const best: Record<string, number> = {};
    const onReplica: Record<string, number> = {};
    for (let round = 0; round < 3; round++) {
      for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
        ConnectionManager.configure('replicated', variant.config);
        try {
          const reader = (worker: number, count: number) =>
            ConnectionManager.withReadAfter(undefined, async () => {
              for (let i = 0; i < count; i++) {
                const id = ((worker * count + i) % ROWS) + 1;
                if (variant.writeEvery > 0 && i % variant.writeEvery === 0) await ReplicatedItem.where('id', id).update({ name: `item ${id}` });
                check((await ReplicatedItem.find(id)) !== null, 'row found');
              }
            });
          await Promise.all(Array.from({ length: READERS }, (_, w) => reader(w, 200)));
          collectGarbage();
          const before = ConnectionManager.status('replicated').replicas?.[0]?.replica.reads ?? 0;
          const started = performance.now();
          await Promise.all(Array.from({ length: READERS }, (_, w) => reader(w, finds / READERS)));
          const ms = performance.now() - started;
          best[variant.label] = Math.min(best[variant.label] ?? Infinity, ms);
          onReplica[variant.label] = (ConnectionManager.status('replicated').replicas?.[0]?.replica.reads ?? 0) - before;
        } finally {
          await ConnectionManager.remove('replicated');
        }
      }
    }
    log(`replicas: ${JSON.stringify(best)}`);
    const base = (label: string) => best[label.includes('a write') ? 'primary alone, a write every 20 reads per scope' : 'primary alone']!;
    return {
      title: 'Read replicas (PostgreSQL, one streaming standby on the same machine)',
      notes: [
        `${fmt.int(finds)} finds by primary key from ${READERS} concurrent readers, each in its own \`withReadAfter\` scope; best of 3 rounds. The last two rows also update a row every 20 reads in each scope (compared with each other): with a replica, the read after each update needs the primary's WAL position and the replica's replay position, and goes to the primary while the replica has not replayed it.`,
        'Primary and standby share this machine\'s 2 cores: the ratio is the cost of routing, not the capacity a replica on its own host adds.',
      ],
      columns: ['What', 'ms', 'finds/s', 'vs primary alone (same writes)', 'reads answered by the replica'],
      rows: variants.map((v) => [v.label, fmt.ms(best[v.label]!), fmt.int(Math.round((finds / best[v.label]!) * 1000)), fmt.x(best[v.label]! / base(v.label)), fmt.int(onReplica[v.label] ?? 0)]),
      goals: [{ goal: 'reads through a replica within 1.15x of the primary alone', met: best['primary + 1 replica']! / base('primary + 1 replica') <= 1.15, detail: fmt.x(best['primary + 1 replica']! / base('primary + 1 replica')) }],
    };
  });
}
