import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import type { DestinationRegistry } from './registry.js';
import type { ActiveDestination } from './route.js';

/**
 * The destinations in force, held in memory by the router and the delivery loops: reloaded when this process
 * changes one (`refresh`) and every few seconds (another node's changes, in cluster mode). A destination whose type
 * has no plugin here is left out, with a warning.
 */
export function createDestinationCatalog(storage: Storage, registry: DestinationRegistry, logger: Logger) {
  let active: ActiveDestination[] = [];
  const warned = new Set<string>();
  const listeners = new Set<() => void>();
  return {
    active: (): readonly ActiveDestination[] => active,
    get: (id: string) => active.find((d) => d.row.id === id),
    async refresh(): Promise<void> {
      const rows = await storage.destinations.list();
      const next: ActiveDestination[] = [];
      for (const row of rows) {
        const plugin = registry.get(row.type);
        if (!plugin) {
          if (!warned.has(row.id))
            logger.warn({ destinationId: row.id, type: row.type }, 'no plugin for destination type');
          warned.add(row.id);
          continue;
        }
        next.push({ row, plugin });
      }
      active = next;
      for (const l of listeners) l();
    },
    /** Called after each refresh. */
    onRefresh(listener: () => void) {
      listeners.add(listener);
    },
  };
}

export type DestinationCatalog = ReturnType<typeof createDestinationCatalog>;
