import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectionManager, TableLog, type ConnectionConfig } from '../src/index.js';
import { createAccounts } from './support/accounts.js';
import { compileFixture } from './support/compile-fixture.js';
import { DIALECTS } from './support/dialects.js';
import { ourPreparedBranches } from './support/prepared.js';
import { describeEachServerPair } from './support/server-pairs.js';
import { rollBackLeftovers, runNodeId } from './support/two-phase.js';
import { waitFor } from './support/wait.js';

/** Cluster timings of every node process: short, so that takeovers happen within the test's run. */
const LEASE_MS = 2_000;
const HEARTBEAT_MS = 400;
const INTERVAL_MS = 500;
const ACCOUNTS = 3;
/** Where the victim is killed, cycling: each leaves at least one branch prepared, with or without a decision. */
const CRASH_POINTS = ['after-decision', 'after-prepares', 'after-prepare:0', 'after-prepare:1', 'after-decision', 'after-prepares'];

interface Line {
  event: string;
  node: string;
  at: number;
  nodeId?: string;
  by?: string;
  epoch?: number;
  retired?: boolean;
  result?: { committed: unknown[]; rolledBack: unknown[]; unknown: unknown[] };
}

let compiled: string | undefined;

/** A node process of test/fixtures/cluster-node.ts, with its JSON lines collected (into `lines`, shared by all nodes). */
function startNode(env: object, crashAt: string | undefined, lines: Line[]): { child: ChildProcess; exited: Promise<string> } {
  compiled ??= compileFixture('test/fixtures/cluster-node.ts');
  const child = spawn(process.execPath, [compiled], {
    env: { ...process.env, CLUSTER_NODE: JSON.stringify(env), POLYRECORD_TEST_CRASH_AT: crashAt ?? '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) lines.push(JSON.parse(line) as Line);
  });
  // Only against a hung node: a test failure, never part of what the test checks.
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const exited = new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve(signal ?? `exit ${code}${code === 0 ? '' : `: ${errors}`}`);
    }),
  );
  return { child, exited };
}

/**
 * Three coordinator node processes on one TableLog (on PostgreSQL) run transfers between a
 * PostgreSQL and a MariaDB account table. One of them (the victim) is SIGKILLed mid-commit
 * again and again; while it is dead, another node takes over its in-doubt branches and
 * finishes them by the log's decision. At the end the victim comes back, takes its own
 * lease back without a claim, and runs transfers again.
 */
describeEachServerPair('several coordinator nodes', (pair) => {
  const nodes = { a: runNodeId('cl-a'), b: runNodeId('cl-b'), victim: runNodeId('cl-v') };
  const configs: Record<string, ConnectionConfig> = {};
  const drops: Array<() => Promise<void>> = [];
  const lines: Line[] = [];
  const twoPhase = ['bank_l', 'bank_r'];

  beforeAll(async () => {
    const servers = await pair.provision();
    drops.push(servers.drop);
    const log = await DIALECTS.find((d) => d.driver === 'postgresql')!.provision(1);
    drops.push(log.drop);
    Object.assign(configs, { bank_l: servers.left, bank_r: servers.right, txlog: log.configs[0]! });
    for (const [name, config] of Object.entries(configs)) ConnectionManager.configure(name, config);
    for (const name of twoPhase) await createAccounts(ConnectionManager.get(name).knex, ACCOUNTS, 1000);
  });
  afterAll(async () => {
    for (const nodeId of Object.values(nodes)) await rollBackLeftovers(twoPhase, nodeId);
    await ConnectionManager.closeAll();
    for (const drop of drops) await drop();
  });

  const balances = async (name: string) => (await ConnectionManager.get(name).knex('accounts').orderBy('id')).map((r: { balance: unknown }) => Number(r.balance));
  const preparedOf = async (nodeId: string) => (await Promise.all(twoPhase.map((name) => ourPreparedBranches(name, nodeId)))).flat();
  const nodeEnv = (nodeId: string, account: number) => ({ configs, nodeId, account, leaseMs: LEASE_MS, heartbeatMs: HEARTBEAT_MS, intervalMs: INTERVAL_MS });

  it('a dead node\'s in-doubt transactions are finished by another node; no two nodes recover it at once; it comes back without a fight; money is kept and no branch is left prepared', async () => {
    const survivors = [startNode(nodeEnv(nodes.a, 1), undefined, lines), startNode(nodeEnv(nodes.b, 2), undefined, lines)];
    try {
      await waitFor(() => [nodes.a, nodes.b].every((n) => lines.some((l) => l.node === n && l.event === 'ready')), 'the two surviving nodes to be ready', 60_000);

      for (const crashAt of CRASH_POINTS) {
        const victim = startNode(nodeEnv(nodes.victim, 3), crashAt, lines);
        expect(await victim.exited, `the victim killed at ${crashAt}`).toBe('SIGKILL');
        const killedAt = Date.now();
        expect(await preparedOf(nodes.victim), `the victim left a branch prepared at ${crashAt}`).not.toEqual([]);
        // Nobody runs the victim's node id now: only a takeover can finish its branches.
        await waitFor(async () => (await preparedOf(nodes.victim)).length === 0, `another node to finish the victim's branches (killed at ${crashAt})`, 60_000);
        const releasedLine = () => lines.find((l) => l.event === 'takeoverReleased' && l.nodeId === nodes.victim && l.at >= killedAt);
        // The taker reports once it has released the victim's duty, just after finishing the branches.
        await waitFor(() => releasedLine() !== undefined, `the takeover of the victim to be released (killed at ${crashAt})`, 60_000);
        const released = releasedLine();
        expect(released?.by, 'the node that took over').toMatch(new RegExp(`^(${nodes.a}|${nodes.b})$`));
        expect(released!.result!.committed.length + released!.result!.rolledBack.length).toBeGreaterThan(0);
        console.log(`killed at ${crashAt}: finished by ${released!.by} ${Math.round((released!.at - killedAt) / 100) / 10} s after the kill (lease ${LEASE_MS} ms + interval ${INTERVAL_MS} ms)`);
      }

      // The victim comes back after being taken over: it takes its lease back at the epoch the takers left, without a claim.
      const comeback = startNode(nodeEnv(nodes.victim, 3), undefined, lines);
      await waitFor(() => lines.some((l) => l.node === nodes.victim && l.event === 'committed'), 'the victim to commit transfers again', 60_000);
      // The last takeover left the row released (or retired) at its epoch: coming back adopts it without a claim.
      const last = lines.filter((l) => l.event === 'takeover' && l.nodeId === nodes.victim).sort((x, y) => x.at - y.at).at(-1)!;
      const lastRelease = lines.find((l) => l.event === 'takeoverReleased' && l.nodeId === nodes.victim && l.epoch === last.epoch)!;
      const row = await new TableLog({ connection: 'txlog' }).leases.get(nodes.victim);
      expect(lastRelease).toBeDefined();
      expect(row).toMatchObject({ recoveredBy: null, retiredAt: null, epoch: last.epoch });
      comeback.child.stdin!.end('stop\n');
      expect(await comeback.exited).toBe('exit 0');
    } finally {
      for (const survivor of survivors) survivor.child.stdin!.end('stop\n');
      for (const survivor of survivors) expect(await survivor.exited).toBe('exit 0');
    }

    // Exactly one node per takeover: each claim has its own epoch, and no two takeovers of the victim overlap in time.
    const takeovers = lines.filter((l) => l.event === 'takeover' && l.nodeId === nodes.victim);
    expect(new Set(takeovers.map((l) => l.epoch)).size).toBe(takeovers.length);
    const spans = takeovers
      .map((t) => ({ from: t.at, to: lines.find((l) => l.event === 'takeoverReleased' && l.nodeId === nodes.victim && l.epoch === t.epoch)!.at }))
      .sort((x, y) => x.from - y.from);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.from).toBeGreaterThanOrEqual(spans[i - 1]!.to);

    // Every transfer moved money between the two sides of one account: each account's two sides still add up.
    const [left, right] = [await balances('bank_l'), await balances('bank_r')];
    expect(left.map((l, i) => l + right[i]!)).toEqual(Array.from({ length: ACCOUNTS }, () => 2000));
    for (const nodeId of Object.values(nodes)) expect(await preparedOf(nodeId)).toEqual([]);
  }, 240_000);
}, ['pg-maria']);
