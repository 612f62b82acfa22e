import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback between a server and its database, so a test can take the database
 * away without touching the real one (other tests use it at the same time):
 * - `cut()`: every connection is dropped and new ones are refused, as when the database stops;
 * - `partition()`: connections stay open and new ones are accepted, but nothing goes through in
 *   either direction until `restore()` (bytes wait, as TCP keeps them in a partition that heals);
 * - `restore()`: connections are accepted and forwarded again (connections dropped stay dropped).
 */
export interface TcpProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  cut(): Promise<void>;
  partition(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let mode: 'open' | 'partition' | 'cut' = 'open';
  let accepted = 0;

  const onConnection = (client: Socket) => {
    accepted++;
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    // Not pipe(): it would resume a paused socket on the other side's 'drain'.
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));
    if (mode === 'partition') {
      client.pause();
      upstream.pause();
    }
  };

  let server: Server = createServer(onConnection);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };

  const stopListening = async () => {
    if (!server.listening) return;
    const closed = once(server, 'close');
    server.close();
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
    await closed;
  };

  return {
    port,
    get accepted() {
      return accepted;
    },
    async cut() {
      mode = 'cut';
      await stopListening();
    },
    partition() {
      mode = 'partition';
      for (const [a, b] of pairs) {
        a.pause();
        b.pause();
      }
    },
    async restore() {
      if (!server.listening) {
        server = createServer(onConnection);
        server.listen(port, '127.0.0.1');
        await once(server, 'listening');
      }
      mode = 'open';
      for (const [a, b] of pairs) {
        a.resume();
        b.resume();
      }
    },
    async close() {
      await stopListening();
    },
  };
}

/** A proxy in front of the PostgreSQL server that `pgUrl` names. */
export function startPostgresProxy(pgUrl: string): Promise<TcpProxy> {
  const target = new URL(pgUrl);
  return startProxy({ host: target.hostname, port: Number(target.port || 5432) });
}

/** The database URL `url`, reached through `proxy` instead of directly. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return proxied.toString();
}
