import net from 'node:net';

/**
 * The environment of a Tessera child process in tests: the caller's `TESSERA_*` variables (a database URL, a data
 * dir, a port…) must not switch it away from the embedded mode the test sets up. The pipeline's thread keeps the
 * default nice 0: the suite's own workers fill both cores, and at nice 10 a server's deliveries waited behind them
 * past their send timeouts (`cli.test.ts` checks the default itself).
 */
export function embeddedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TESSERA_')) env[k] = v;
  return { ...env, ...extra };
}

/** A port nobody listens on right now (the kernel's choice for port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
