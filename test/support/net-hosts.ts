import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * Test hosts on this machine: each is a network namespace of its own, linked to the root
 * namespace by a veth pair on a /30 of its own (10.231.X.1 on the root side, .2 inside).
 * The servers listen on loopback only, so for each host a TCP proxy in the test process
 * listens on the root-side address and forwards to them; a process started in the host
 * reaches the servers only through its link, which a test can take down (a partition:
 * packets are dropped, open connections hang) and bring back. Linux, root and `ip`
 * (iproute2) are needed: {@link NET_HOSTS_UNAVAILABLE} says why they are not there.
 */
export interface NetHost {
  /** The network namespace's name (`pr-<pid>-<n>`). */
  readonly namespace: string;
  /** `serviceUrl` (one of those the hosts were made for) as this host reaches it: through its proxy. */
  url(serviceUrl: string): string;
  /** Runs `node <script>` inside the host (its pid is node's: `ip netns exec` execs it). */
  spawnNode(script: string, env: NodeJS.ProcessEnv): ChildProcess;
  /** Takes the host's link down on the root side. */
  cut(): void;
  /** Brings the link back up. */
  restore(): void;
}

const PREFIX = 'pr-';
// Where Debian puts it, for a PATH without the sbin folders.
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((path) => existsSync(path)) ?? 'ip';
const ip = (...args: string[]): string => execFileSync(IP, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Why test hosts cannot be made here (not Linux, not root, no `ip`, namespaces refused), or undefined when they can. */
export const NET_HOSTS_UNAVAILABLE: string | undefined = (() => {
  if (process.platform !== 'linux') return 'not running on Linux';
  if (process.getuid?.() !== 0) return 'not running as root';
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    ip('netns', 'add', probe);
  } catch (error) {
    const { code, stderr } = error as { code?: string; stderr?: string };
    return code === 'ENOENT' ? 'the ip command (Debian package iproute2) is missing' : `ip netns add failed: ${String(stderr ?? error).trim()}`;
  }
  ip('netns', 'del', probe);
  return undefined;
})();

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
};

/** Removes the hosts of earlier test processes that died before removing them (their pid is gone). */
function removeStaleHosts(): void {
  for (const [, name, pid] of ip('netns', 'list').matchAll(/^(pr-(\d+)-\d+)\b/gm)) {
    if (!pidAlive(Number(pid))) ip('netns', 'del', name!);
  }
}

/** The third octets of 10.231.X.0 already on an interface here (another run's hosts). */
function usedSubnets(): Set<number> {
  return new Set([...ip('-4', '-o', 'addr').matchAll(/inet 10\.231\.(\d+)\./g)].map((m) => Number(m[1])));
}

/**
 * Makes `count` hosts, each with a proxy for every one of `serviceUrls` (database and broker
 * URLs on this machine). `remove()` stops the proxies and deletes the namespaces with their
 * links; call it after the processes started in them have exited. On failure, what was
 * made is removed before the error is thrown.
 */
export async function createNetHosts(count: number, serviceUrls: readonly string[]): Promise<{ hosts: NetHost[]; remove(): Promise<void> }> {
  removeStaleHosts();
  const used = usedSubnets();
  const proxies: TcpProxy[] = [];
  const namespaces: string[] = [];
  const links: string[] = [];
  const remove = async () => {
    for (const proxy of proxies.splice(0)) await proxy.close();
    for (const namespace of namespaces.splice(0)) ip('netns', 'del', namespace);
    for (const link of links.splice(0)) {
      try {
        ip('link', 'del', link);
      } catch {
        // Gone with its namespace (the usual case); only a pair whose end never moved in is left.
      }
    }
  };
  try {
    const hosts: NetHost[] = [];
    // Start where this pid points, so two runs at once rarely race for one subnet.
    let octet = (process.pid % 200) + 1;
    for (let n = 0; n < count; n++) {
      while (used.has(octet)) octet = (octet % 254) + 1;
      used.add(octet);
      const namespace = `${PREFIX}${process.pid}-${n}`;
      const [outside, inside] = [`pr${process.pid}r${n}`, `pr${process.pid}n${n}`];
      const address = `10.231.${octet}.1`;
      ip('netns', 'add', namespace);
      namespaces.push(namespace);
      // Once one end is inside the namespace, deleting the namespace deletes both ends.
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      links.push(outside);
      ip('link', 'set', inside, 'netns', namespace);
      ip('addr', 'add', `${address}/30`, 'dev', outside);
      ip('link', 'set', outside, 'up');
      ip('-n', namespace, 'addr', 'add', `10.231.${octet}.2/30`, 'dev', inside);
      ip('-n', namespace, 'link', 'set', inside, 'up');
      ip('-n', namespace, 'link', 'set', 'lo', 'up');
      const routes = new Map<string, TcpProxy>();
      for (const serviceUrl of serviceUrls) {
        const proxy = await startTcpProxy(serviceUrl, address);
        proxies.push(proxy);
        routes.set(new URL(serviceUrl).host, proxy);
      }
      hosts.push({
        namespace,
        url(serviceUrl) {
          const proxy = routes.get(new URL(serviceUrl).host);
          if (!proxy) throw new Error(`no proxy for ${new URL(serviceUrl).host} on ${namespace}`);
          const proxied = new URL(proxy.url);
          return Object.assign(new URL(serviceUrl), { hostname: proxied.hostname, port: proxied.port }).toString();
        },
        spawnNode: (script, env) => spawn(IP, ['netns', 'exec', namespace, process.execPath, script], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
        cut: () => void ip('link', 'set', outside, 'down'),
        restore: () => void ip('link', 'set', outside, 'up'),
      });
    }
    return { hosts, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
