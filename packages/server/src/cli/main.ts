import { Command } from 'commander';
import {
  audiencesCreateCommand,
  audiencesDeleteCommand,
  audiencesListCommand,
  audiencesMembersCommand,
  audiencesPreviewCommand,
  audiencesRecomputeCommand,
  audiencesShowCommand,
  audiencesUpdateCommand,
} from './commands/audiences.js';
import {
  rfmSetCommand,
  rfmShowCommand,
  traitsDeleteCommand,
  traitsListCommand,
  traitsSetCommand,
  traitsShowCommand,
  traitsValuesCommand,
} from './commands/computed-traits.js';
import { copyCommand } from './commands/copy.js';
import { demoCommand } from './commands/demo.js';
import {
  destinationsCreateCommand,
  destinationsDeleteCommand,
  destinationsDlqCommand,
  destinationsListCommand,
  destinationsLogCommand,
  destinationsReplayCommand,
  destinationsShowCommand,
  destinationsTestCommand,
  destinationsTypesCommand,
  destinationsUpdateCommand,
  pressureCheckCommand,
  pressureSetCommand,
  pressureShowCommand,
} from './commands/destinations.js';
import { identityDedupeCommand } from './commands/identity-dedupe.js';
import { identityEvaluateCommand, identityMatchCommand } from './commands/identity-match.js';
import { identityRebuildCommand } from './commands/identity-rebuild.js';
import { importCommand } from './commands/import.js';
import { initCommand } from './commands/init.js';
import { migrateCommand } from './commands/migrate.js';
import {
  privacyAccessCommand,
  privacyEraseCommand,
  privacyListCommand,
  privacyRectifyCommand,
  privacyShowCommand,
} from './commands/privacy.js';
import { serveCommand } from './commands/serve.js';
import { sourcesCommand } from './commands/sources.js';

const program = new Command();
program.name('tessera').description('Tessera, an open-source Customer Data Platform').version('0.1.0');

const withData = (c: Command) =>
  c
    .option('--data <dir>', 'data directory (embedded mode)', undefined)
    .option('--database-url <url>', 'PostgreSQL URL instead of the embedded store');

withData(program.command('init').description('create the data directory, a "default" source and an admin token'))
  .option('--json', 'print {"writeKey", "adminToken"} only')
  .action(initCommand);

withData(program.command('serve').description('run the server (embedded by default)'))
  .option('--port <n>', 'port (default 8700)')
  .option('--host <host>', 'address to listen on (default 127.0.0.1)')
  .option(
    '--nats-url <url>',
    'cluster mode: NATS with JetStream for the ingest log and change bus (with --database-url)',
  )
  .option('--roles <list>', 'cluster mode: any of api,worker,scheduler (default all)')
  .action(serveCommand);

withData(program.command('demo').description('run a server loaded with a realistic demo data set'))
  .option('--port <n>', 'port (default 8700)')
  .option('--host <host>', 'address to listen on (default 127.0.0.1)')
  .option('--people <n>', 'people in the data set (default 200)')
  .option('--json', 'print {"url", "writeKey", "adminToken", "users"} only')
  .option('--exit', 'stop after loading (for scripts)')
  .action(demoCommand);

withData(program.command('import <file>').description('import a CSV, NDJSON or JSON file through the pipeline'))
  .requiredOption('--source <name>', 'source name (created as an import source when missing)')
  .requiredOption('--mapping <file>', 'mapping JSON (see docs/mapping.md)')
  .option('--json', 'print the summary as JSON')
  .option('--no-progress', 'no progress bar')
  .action(importCommand);

withData(program.command('sources <action> [name]').description('list | create NAME | rotate-key NAME'))
  .option('--kind <kind>', 'tracking, webhook or import (create)')
  .option('--json', 'JSON output')
  .action(sourcesCommand);

withData(program.command('migrate').description('bring the schema to the latest migration'))
  .option('--json', 'JSON output')
  .action(migrateCommand);

program
  .command('copy')
  .description('copy an embedded data directory into PostgreSQL (embedded → cluster), verifying the counts')
  .requiredOption('--from <dir>', 'embedded data directory (no server may run on it)')
  .requiredOption('--to <url>', 'postgres://… URL of the target database')
  .option('--replace', "delete the target's rows first instead of refusing a non-empty target")
  .option('--json', 'print the result as JSON')
  .option('--no-progress', 'no progress bar')
  .action(copyCommand);

const identity = program.command('identity').description('probabilistic matching, evaluation and deduplication');
const matchFiles = (c: Command) =>
  c
    .requiredOption('--config <file>', 'match configuration JSON (docs/identity-matching.md), or "auto"')
    .requiredOption('--id-column <column>', 'the column naming each record (never read by the matcher)')
    .option('--out <file>', 'write {"<recordId>": "<clusterId>"} (ids prefixed a: / b: when linking two files)')
    .option('--json', 'JSON output')
    .option('--no-progress', 'no progress bar');
matchFiles(
  identity
    .command('match <file> [file2]')
    .description('cluster the records of one file (deduplicate) or two files (link)'),
).action((file: string, file2: string | undefined, opts) => identityMatchCommand(file2 ? [file, file2] : [file], opts));
matchFiles(
  identity
    .command('evaluate <file> [file2]')
    .description('match, then print pairwise precision, recall and F1 against a truth column'),
)
  .requiredOption('--truth-column <column>', 'the column holding the true entity (never read by the matcher)')
  .option('--truth-regex <re>', "the entity is the regex's first group (or whole match) in the truth column")
  .action((file: string, file2: string | undefined, opts) =>
    identityEvaluateCommand(file2 ? [file, file2] : [file], opts),
  );
withData(
  identity.command('dedupe').description('match the profiles in the store; merge the sure ones, queue the doubtful'),
)
  .option('--source <name>', 'only profiles with an identifier first linked by this source')
  .option('--dry-run', 'match and report; merge nothing, queue nothing')
  .option(
    '--config <file>',
    'match configuration JSON or "auto" (default: the stored identity.matching setting, else auto)',
  )
  .option('--json', 'print the summary as JSON')
  .option('--no-progress', 'no progress bar')
  .action(identityDedupeCommand);
withData(identity.command('rebuild').description('re-resolve identities from the ingest log after a rules change'))
  .option('--since <time>', 'only log entries received from this time (ISO 8601)')
  .option('--json', 'print the summary as JSON')
  .action(identityRebuildCommand);

const audiences = program
  .command('audiences')
  .description('audiences (docs/audiences.md): through the running server, else on the store');
withData(audiences.command('list').description('every audience: key, name, members, status, summary'))
  .option('--json', "print the API's items")
  .action(audiencesListCommand);
withData(audiences.command('show <key>').description('one audience, its summary in English and French, its versions'))
  .option('--json', 'JSON output')
  .action(audiencesShowCommand);
withData(audiences.command('create <key>').description('save a new audience'))
  .requiredOption('--name <name>', 'the name shown in the UI and in destinations')
  .requiredOption('--definition <file|json>', 'the definition: a JSON file, or inline JSON starting with {')
  .option('--description <text>', 'a description')
  .option('--json', 'JSON output')
  .action(audiencesCreateCommand);
withData(audiences.command('update <key>').description('save the fields given as the next version'))
  .option('--name <name>', 'a new name')
  .option('--definition <file|json>', 'a new definition: a JSON file, or inline JSON starting with {')
  .option('--description <text>', 'a new description ("" removes it)')
  .option('--json', 'JSON output')
  .action(audiencesUpdateCommand);
withData(audiences.command('delete <key>').description('delete an audience (its members leave it)'))
  .option('--json', 'JSON output')
  .action(audiencesDeleteCommand);
withData(audiences.command('preview').description('estimate the members of a definition without saving it'))
  .requiredOption('--definition <file|json>', 'the definition: a JSON file, or inline JSON starting with {')
  .option('--exact', 'also count every member exactly')
  .option('--json', 'JSON output')
  .action(audiencesPreviewCommand);
withData(audiences.command('members <key>').description('current members: profile id and entry time'))
  .option('--limit <n>', 'at most N members (default 50)')
  .option('--csv', 'every member as CSV (profile_id,entered_at,version)')
  .option('--json', 'JSON output')
  .action(audiencesMembersCommand);
withData(audiences.command('recompute <key>').description('recompute an audience in full'))
  .option('--wait', 'with a server: wait until its scheduler has recomputed it')
  .option('--json', 'JSON output')
  .action(audiencesRecomputeCommand);

const destinations = program
  .command('destinations')
  .description('destinations and deliveries (docs/destinations.md): through the running server, else on the store');
const destinationFlags = (c: Command) =>
  c
    .option('--config <file|json>', "the type's config: a JSON file, or inline JSON starting with {")
    .option('--subscription <file|json>', 'what flows: {"events": {...}, "profiles": true, "audiences": [...]}')
    .option('--purpose <purpose>', 'consent purpose required to send ("none": no check)')
    .option('--channel <channel>', 'email, sms or push: sends count against the pressure caps ("none")')
    .option('--rate <n>', 'sends per second at most ("none": unlimited)')
    .option('--max-retry-hours <h>', 'retry a failing message this long before dead-lettering it (default 48)')
    .option('--enable', 'enable it')
    .option('--disable', 'disable it (nothing is sent; messages wait)')
    .option('--json', 'JSON output');
withData(destinations.command('types').description('the destination types, with their message kinds'))
  .option('--json', 'JSON output, with each config schema')
  .action(destinationsTypesCommand);
withData(destinations.command('list').description('every destination and its delivery counts'))
  .option('--json', 'JSON output')
  .action(destinationsListCommand);
withData(destinations.command('show <id>').description('one destination (secrets masked)'))
  .option('--json', 'JSON output')
  .action(destinationsShowCommand);
destinationFlags(
  withData(destinations.command('create').description('add a destination'))
    .requiredOption('--name <name>', 'its name')
    .requiredOption('--type <type>', 'a destination type (see `tessera destinations types`)'),
).action(destinationsCreateCommand);
destinationFlags(
  withData(destinations.command('update <id>').description('save the options given as the next version')).option(
    '--name <name>',
    'a new name',
  ),
).action(destinationsUpdateCommand);
withData(destinations.command('delete <id>').description('delete a destination (nothing more is sent)'))
  .option('--json', 'JSON output')
  .action(destinationsDeleteCommand);
withData(destinations.command('test <id>').description('send one sample message now; exit 1 unless it went'))
  .option('--json', 'JSON output')
  .action(destinationsTestCommand);
withData(destinations.command('log <id>').description('the delivery log, newest first'))
  .option('--status <status>', 'pending, delivered, dead or skipped')
  .option('--limit <n>', 'at most N (default 50)')
  .option('--json', 'JSON output')
  .action(destinationsLogCommand);
withData(destinations.command('dlq <id>').description('the dead-letter queue, newest first'))
  .option('--limit <n>', 'at most N (default 50)')
  .option('--json', 'JSON output')
  .action(destinationsDlqCommand);
withData(destinations.command('replay <id>').description('queue dead-lettered messages again (all, or --ids)'))
  .option('--ids <ids>', 'comma-separated delivery ids (dlv_…)')
  .option('--json', 'JSON output')
  .action(destinationsReplayCommand);

const pressure = program
  .command('pressure')
  .description('marketing pressure: caps and quiet hours (docs/destinations.md)');
withData(pressure.command('show').description('the policy in force'))
  .option('--json', 'JSON output')
  .action(pressureShowCommand);
withData(pressure.command('set').description('save a new policy version'))
  .requiredOption('--policy <file|json>', '{"caps": [...], "quietHours": {...}|null, "defaultTimezone", "overCap"}')
  .option('--json', 'JSON output')
  .action(pressureSetCommand);
withData(
  pressure.command('check <profile>').description('may one more message go to PROFILE now (prof_… or TYPE:VALUE)'),
)
  .option('--channel <channel>', 'email (default), sms, push…')
  .option('--json', 'JSON output')
  .action(pressureCheckCommand);

/** Commander's accumulator of a repeatable option. */
const collect = (value: string, previous: string[]) => [...previous, value];

const privacy = program
  .command('privacy')
  .description('data-subject requests: access, rectification and erasure (docs/privacy.md)');
withData(privacy.command('access').description('everything held about the person an identifier names'))
  .requiredOption('--identifier <type:value>', 'e.g. email:jane@example.com, user_id:u1, phone:+33612345678')
  .option('--json', 'JSON output (the request, its bundle in `result`)')
  .action(privacyAccessCommand);
withData(privacy.command('erase').description('erase the person an identifier names, and suppress their identifiers'))
  .requiredOption('--identifier <type:value>', 'e.g. email:jane@example.com')
  .option('--wait', 'with a server: wait until the erasure is over (on the store it always is)')
  .option('--json', 'JSON output')
  .action(privacyEraseCommand);
withData(
  privacy.command('rectify').description('correct the traits of the person an identifier names, and their history'),
)
  .requiredOption('--identifier <type:value>', 'e.g. email:jane@example.com')
  .option('--set <key=value>', 'a corrected trait, its value the text as written (repeatable)', collect, [])
  .option(
    '--set-json <key=json>',
    'a corrected trait whose value is JSON: true, 42, {"city":"Lyon"} (repeatable)',
    collect,
    [],
  )
  .option('--unset <key>', 'a trait to remove (repeatable)', collect, [])
  .option('--wait', 'with a server: wait until the rectification is over (on the store it always is)')
  .option('--json', 'JSON output')
  .action(privacyRectifyCommand);
withData(privacy.command('show <id>').description('a request: status and proof'))
  .option('--json', 'JSON output')
  .action(privacyShowCommand);
withData(privacy.command('list').description('the requests, newest first'))
  .option('--limit <n>', 'at most N (default 50)')
  .option('--json', 'JSON output')
  .action(privacyListCommand);

const traits = program
  .command('traits')
  .description('computed traits (docs/audiences.md): through the running server, else on the store');
withData(traits.command('list').description('every computed trait: key, name, summary'))
  .option('--json', "print the API's items")
  .action(traitsListCommand);
withData(traits.command('show <key>').description('one computed trait, its summary in English and French'))
  .option('--json', 'JSON output')
  .action(traitsShowCommand);
withData(traits.command('set <key>').description('create a computed trait, or replace it'))
  .requiredOption('--name <name>', 'the name shown in the UI')
  .requiredOption('--definition <file|json>', 'the definition: a JSON file, or inline JSON starting with {')
  .option('--json', 'JSON output')
  .action(traitsSetCommand);
withData(traits.command('delete <key>').description('delete a computed trait (refused while an audience reads it)'))
  .option('--json', 'JSON output')
  .action(traitsDeleteCommand);
withData(
  traits
    .command('values <profile>')
    .description("a profile's computed traits now: PROFILE is prof_… or TYPE:VALUE (user_id:u1, email:a@b.c)"),
)
  .option('--json', 'JSON output')
  .action(traitsValuesCommand);

const rfm = program
  .command('rfm')
  .description('RFM scores (docs/audiences.md): through the running server, else on the store');
withData(rfm.command('show').description('the settings, and the profiles per segment and per (R, F) cell'))
  .option('--json', 'JSON output')
  .action(rfmShowCommand);
withData(rfm.command('set').description('save the settings and score every profile with them'))
  .requiredOption('--event <name>', 'the purchase event, exact name')
  .requiredOption('--amount <property>', 'the property holding the amount (dots walk into objects)')
  .option('--window-days <n>', 'purchases of the last N days only (default: all)')
  .option('--json', 'JSON output')
  .action(rfmSetCommand);

program
  .command('bench')
  .description('run the benchmarks (see npm run bench)')
  .option('--only <name>', 'ingest, pipeline, lookup, cluster or dedupe')
  .option('--scale <f>', 'multiplies durations and fixture sizes (default 1)')
  .action(async () => {
    // The benchmark reads its flags from process.argv itself.
    await import('../bench/main.js');
  });

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`tessera: ${e.message}\n`);
  process.exit(1);
});
