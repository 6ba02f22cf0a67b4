import type { DestinationPlugin } from '../plugin.js';
import { brevoDestination } from './brevo.js';
import { customerioDestination } from './customerio.js';
import { createFileDestination } from './file.js';
import { hubspotDestination } from './hubspot.js';
import { mailchimpDestination } from './mailchimp.js';
import { natsDestination } from './nats.js';
import { postgresTableDestination } from './postgres-table.js';
import { webhookDestination } from './webhook.js';

/** The destination plugins Tessera ships; `exportDir` is where file exports may write. */
export function builtinDestinations(exportDir: string): DestinationPlugin[] {
  return [
    webhookDestination,
    postgresTableDestination,
    createFileDestination(exportDir),
    natsDestination,
    brevoDestination,
    mailchimpDestination,
    hubspotDestination,
    customerioDestination,
  ] as unknown as DestinationPlugin[];
}
