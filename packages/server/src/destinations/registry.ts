import { TesseraError } from '../errors.js';
import type { DestinationPlugin } from './plugin.js';

/** The destination plugins of an app, by type (STYLE #10: a registry, never a `switch`). */
export interface DestinationRegistry {
  get(type: string): DestinationPlugin | undefined;
  /** The plugin of `type`, or a 400 naming the known types. */
  require(type: string): DestinationPlugin;
  list(): readonly DestinationPlugin[];
}

export function createDestinationRegistry(plugins: readonly DestinationPlugin[]): DestinationRegistry {
  const byType = new Map<string, DestinationPlugin>();
  for (const p of plugins) {
    if (byType.has(p.type)) throw new Error(`two destination plugins of type ${p.type}`);
    byType.set(p.type, p);
  }
  return {
    get: (type) => byType.get(type),
    require(type) {
      const p = byType.get(type);
      if (!p)
        throw new TesseraError('invalid_request', `type: unknown destination type ${JSON.stringify(type)}`, {
          details: { known: [...byType.keys()] },
        });
      return p;
    },
    list: () => [...byType.values()],
  };
}
