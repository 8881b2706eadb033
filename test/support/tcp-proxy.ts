import net from 'node:net';

/**
 * A TCP proxy in front of a database server, so a test can cut the network between
 * polyrecord and that server at a moment of its choosing: `cut()` closes every open
 * connection and refuses new ones (as a network partition or a server that went away
 * would), `restore()` lets connections through again.
 */
export interface TcpProxy {
  /** The database URL, pointing at the proxy instead of the server. */
  readonly url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

const DEFAULT_PORTS: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'mysql:': 3306, 'mariadb:': 3306 };

/** Starts a proxy to the server of `url` (a postgres:// or mysql:// URL) and returns it with the URL to use instead. */
export async function startTcpProxy(url: string): Promise<TcpProxy> {
  const target = new URL(url);
  const host = target.hostname;
  const port = Number(target.port || DEFAULT_PORTS[target.protocol]);
  const open = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host, port });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as net.AddressInfo).port);
  return {
    url: proxied.toString(),
    cut() {
      cut = true;
      for (const socket of open) socket.destroy();
    },
    restore() {
      cut = false;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
