import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of `host:port`, for tests that cut a server off: `cut()` closes every
 * connection and stops listening (new connections are refused), `restore()` listens again on the same port.
 */
export async function tcpProxy(
  host: string,
  port: number,
): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let server: net.Server;
  const listen = (on: number) =>
    new Promise<number>((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect(port, host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.once('close', () => sockets.delete(s));
          s.once('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(on, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  const own = await listen(0);
  return {
    port: own,
    cut: stop,
    async restore() {
      await listen(own);
    },
    close: stop,
  };
}
