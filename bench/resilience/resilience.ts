/**
 * Resilience on PostgreSQL (issue 9): what a circuit breaker and per-connection limits cost
 * a find by primary key when they are on and nothing fails, and how fast a call fails while
 * the breaker is open, next to what the same call costs without a breaker against a server
 * that refuses connections and against one that accepts and never answers.
 */
import { createServer, type Server } from 'node:net';
import { ActiveRecord, CircuitOpenError, Column, ConnectionManager, Model, PrimaryKey, type ConnectionConfig } from 'polyrecord';
import { collectGarbage } from '../measure.js';
import { ITEM_ROWS, freshItems } from './items.js';
import { check, envInt, fmt, log, percentile, withCleanup, type ExtraResult, type ServerUrls } from '../sync/support.js';

@Model({ connection: 'resilience', table: 'items' })
class ResilienceItem extends ActiveRecord {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Column({ type: 'string' }) name!: string;
}

const ROWS = ITEM_ROWS;

const VARIANTS: ReadonlyArray<{ label: string; extra: Partial<ConnectionConfig> }> = [
  { label: 'neither', extra: {} },
  { label: 'breaker', extra: { breaker: true } },
  { label: 'limits', extra: { limits: { maxConcurrent: 10, maxQueued: 1_000, queueTimeoutMs: 5_000, maxRows: 100_000 } } },
  { label: 'both', extra: { breaker: true, limits: { maxConcurrent: 10, maxQueued: 1_000, queueTimeoutMs: 5_000, maxRows: 100_000 } } },
];

/** Milliseconds of each of `count` awaited calls, sorted. */
async function latencies(count: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call(i);
    out.push(performance.now() - started);
  }
  return out.sort((a, b) => a - b);
}

/** A TCP server that accepts connections and never says a word. */
function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : 0,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

export async function benchResilience(urls: ServerUrls): Promise<ExtraResult> {
  const lookups = envInt('BENCH_RESILIENCE_LOOKUPS', 5_000);
  return withCleanup(async (defer) => {
    const db = await freshItems(urls.pg!, 'resilience', defer);

    const rows: string[][] = [];
    const finds: Record<string, number> = {};
    // Rounds alternate the variants, so none always runs first; each keeps its best round.
    for (let round = 0; round < 5; round++) {
      for (const variant of round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
        ConnectionManager.configure('resilience', { url: db.url, ...variant.extra } as ConnectionConfig);
        try {
          for (let i = 0; i < 1_000; i++) await ResilienceItem.find((i % ROWS) + 1);
          collectGarbage();
          const started = performance.now();
          for (let i = 0; i < lookups; i++) check((await ResilienceItem.find((i % ROWS) + 1)) !== null, 'row found');
          const ms = performance.now() - started;
          finds[variant.label] = Math.min(finds[variant.label] ?? Infinity, ms);
        } finally {
          await ConnectionManager.remove('resilience');
        }
      }
    }
    for (const variant of VARIANTS) rows.push([`find by key x${fmt.int(lookups)}, ${variant.label}`, fmt.ms(finds[variant.label]!), fmt.x(finds[variant.label]! / finds.neither!), '', '', '']);

    // Failing calls: a refused port and a silent server, with and without an open breaker.
    const silent = await silentServer();
    defer(() => silent.close());
    const failing: Array<{ label: string; url: string; breaker: boolean; calls: number }> = [
      { label: 'refused port, no breaker', url: 'postgres://u@127.0.0.1:1/x', breaker: false, calls: 50 },
      { label: 'silent server (connectTimeoutMs 1,000), no breaker', url: `postgres://u@127.0.0.1:${silent.port}/x`, breaker: false, calls: 3 },
      { label: 'silent server, breaker open', url: `postgres://u@127.0.0.1:${silent.port}/x`, breaker: true, calls: 1_000 },
    ];
    let openP99 = NaN;
    for (const target of failing) {
      ConnectionManager.configure('failing', { url: target.url, connectTimeoutMs: 1_000, ...(target.breaker ? { breaker: { failureThreshold: 3, windowMs: 60_000, cooldownMs: 600_000 } } : {}) });
      try {
        const connection = ConnectionManager.get('failing');
        if (target.breaker) {
          for (let i = 0; i < 3; i++) await connection.execute('select 1', []).catch(() => undefined);
          check(connection.circuitState === 'open', 'the breaker opened');
        }
        const times = await latencies(target.calls, () =>
          connection.execute('select 1', []).then(
            () => check(false, 'a failing server answered'),
            (error: unknown) => check(!target.breaker || error instanceof CircuitOpenError, 'a CircuitOpenError'),
          ),
        );
        if (target.breaker) openP99 = percentile(times, 99);
        rows.push([`a failing call: ${target.label} (x${fmt.int(target.calls)})`, '', '', fmt.ms(percentile(times, 50)), fmt.ms(percentile(times, 99)), fmt.ms(times[times.length - 1]!)]);
      } finally {
        await ConnectionManager.remove('failing');
      }
    }
    log(`resilience: finds ${JSON.stringify(finds)}`);

    return {
      title: 'Circuit breaker and limits (PostgreSQL)',
      notes: [
        `A find by primary key, ${fmt.int(lookups)} times after 1,000 warm-up finds, on a connection with neither, a breaker (\`breaker: true\`), limits (\`maxConcurrent\`, \`maxQueued\`, \`queueTimeoutMs\`, \`maxRows\`) or both; best of 5 rounds. Then one failing call at a time: its latency.`,
      ],
      columns: ['What', 'ms', 'vs neither', 'p50 ms', 'p99 ms', 'max ms'],
      rows,
      goals: [
        { goal: 'a call fails in under 5 ms while the breaker is open', met: openP99 < 5, detail: `p99 ${fmt.ms(openP99)} ms` },
        { goal: 'breaker and limits together within 1.05x of neither', met: finds.both! / finds.neither! <= 1.05, detail: fmt.x(finds.both! / finds.neither!) },
      ],
    };
  });
}
