import pino from 'pino';
import { createApp } from '../../app.js';
import { type CommonOptions, configFrom } from '../options.js';

/** `tessera sources list | create NAME | rotate-key NAME`. Keys are printed once. */
export async function sourcesCommand(
  action: string,
  name: string | undefined,
  opts: CommonOptions & { json?: boolean; kind?: string },
): Promise<void> {
  const config = configFrom(opts);
  const app = await createApp(config, { pipeline: false, logger: pino({ level: 'silent' }) });
  const out = (v: unknown, text: string) => process.stdout.write(opts.json ? `${JSON.stringify(v)}\n` : `${text}\n`);
  try {
    if (action === 'list') {
      const items = await app.sources.list();
      out(items, items.map((s) => `${s.id}  ${s.kind.padEnd(8)}  ${s.name}`).join('\n') || '(no sources)');
    } else if (action === 'create' || action === 'rotate-key') {
      if (!name) throw new Error(`sources ${action} needs a NAME`);
      const kind = opts.kind === 'webhook' || opts.kind === 'import' ? opts.kind : 'tracking';
      const r = action === 'create' ? await app.sources.create({ name, kind }) : await app.sources.rotateKey(name);
      out({ ...r.source, writeKey: r.writeKey }, `${r.source.id} ${r.source.name}\nwrite key: ${r.writeKey}`);
    } else throw new Error(`unknown action "${action}" (list, create, rotate-key)`);
  } finally {
    await app.close();
  }
}
