import net from 'node:net';

/**
 * A TCP proxy in front of a database server or broker, so a test can cut the network between
 * polyrecord and that server at a moment of its choosing (or let another network namespace
 * reach a server that listens on loopback only, see net-hosts.ts): `cut()` closes every open
 * connection and refuses new ones (as a network partition or a server that went away
 * would), `restore()` lets connections through again.
 */
export interface TcpProxy {
  /** The server's URL, pointing at the proxy instead of the server. */
  readonly url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

const DEFAULT_PORTS: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'mysql:': 3306, 'mariadb:': 3306, 'nats:': 4222, 'amqp:': 5672 };

/**
 * Starts a proxy to the server of `url` (postgres://, mysql://, nats:// or amqp://) listening
 * on `listenOn` (loopback by default) and returns it with the URL to use instead.
 */
export async function startTcpProxy(url: string, listenOn = '127.0.0.1'): Promise<TcpProxy> {
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
  await new Promise<void>((resolve) => server.listen(0, listenOn, resolve));
  const proxied = new URL(url);
  proxied.hostname = listenOn;
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
