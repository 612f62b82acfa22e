#!/usr/bin/env node
import { parseArgs } from 'node:util';
import * as accounts from './accounts/accounts.service.js';
import { customerWriteHooks } from './app.js';
import {
  describeCustomerImport,
  describeDeliveries,
  describeEndpoint,
  describeImport,
  describeStatus,
} from './cli-describe.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { type Db, openMigrated, RESTART_AFTER_MIGRATION } from './db/index.js';
import { AppError } from './errors.js';
import { retryJob, stripeStatus } from './jobs/jobs.service.js';
import { backfill, connectStripeAccount, countUnprovisioned } from './jobs/stripe-backfill.js';
import {
  type ImportSummary as CustomerImportSummary,
  ImportFileError,
  importCustomers,
} from './search/import.js';
import { formatOf } from './search/import.read.js';
import { createStripeGateway, type StripeGateway } from './stripe/gateway.js';
import { createStripeReader } from './stripe/reader.js';
import { importFromStripe } from './stripe/stripe-import.js';
import { deliveriesStatus, endpointDeliveries } from './webhooks/deliveries.service.js';
import { LISTEN_USAGE, listenCommand } from './webhooks/webhooks.listen.js';

/** A problem with what was typed: exit status 2 and one line on stderr. */
class UsageError extends Error {}

const USAGE = `usage: lunipay <command> [options]

  accounts create --name NAME [--stripe-account acct_…] [--json]
  accounts list [--json]
  accounts update ACCOUNT_ID (--stripe-account acct_… | --no-stripe-account) [--json]
  keys create --account ACCOUNT_ID --mode test|live [--json]
  keys revoke KEY_ID [--json]
  customers import --account ACCOUNT_ID --mode test|live FILE [--format csv|ndjson] [--dry-run] [--json]
  stripe status [--json]
  stripe retry JOB_ID [--json]
  stripe backfill [--account ACCOUNT_ID] [--json]
  stripe import --account ACCOUNT_ID --mode test|live [--dry-run] [--json]
  webhooks list [--json]
  webhooks status [--json]
  migrate [--json]
  ${LISTEN_USAGE}`;

type Out = (json: unknown, human: string) => void;

const options = {
  json: { type: 'boolean' },
  name: { type: 'string' },
  'stripe-account': { type: 'string' },
  'no-stripe-account': { type: 'boolean' },
  account: { type: 'string' },
  mode: { type: 'string' },
  'dry-run': { type: 'boolean' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

function required(values: Values, name: 'name' | 'account' | 'mode'): string {
  const value = values[name];
  if (value === undefined || value === '') throw new UsageError(`--${name} is required.`);
  return value;
}

function single(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one ${what}.`);
  return positionals[0] as string;
}

/** Returns the exit status when it is not 0. */
async function run(
  db: Db,
  words: string[],
  values: Values,
  out: Out,
  config: Config,
): Promise<number | undefined> {
  const stripeConfig = config.stripe;
  const gateway: StripeGateway = createStripeGateway(stripeConfig);
  const [group, action, ...rest] = words;
  const command = `${group ?? ''} ${action ?? ''}`.trim();
  switch (command) {
    case 'accounts create': {
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'.`);
      const { account, keys } = await accounts.createAccount(db, {
        name: required(values, 'name'),
        stripeAccountId: values['stripe-account'] ?? null,
      });
      out(
        { ...account, created: undefined, keys: { test: keys.test.secret, live: keys.live.secret } },
        `Created account ${account.id} (${account.name}).\n` +
          `  test key: ${keys.test.secret}\n  live key: ${keys.live.secret}\n` +
          'These keys are shown only this once: keep them somewhere safe.',
      );
      return;
    }
    case 'accounts list': {
      const data = await accounts.listAccounts(db);
      const lines = data.map((a) => `${a.id}  ${a.name}  ${a.stripe_account_id ?? '(no Stripe account)'}`);
      out({ data }, lines.length > 0 ? lines.join('\n') : 'No accounts.');
      return;
    }
    case 'accounts update': {
      const id = single(rest, 'account id');
      const stripe = values['no-stripe-account'] ? null : values['stripe-account'];
      if (stripe === undefined) throw new UsageError('give --stripe-account acct_… or --no-stripe-account.');
      const { account, queued } = await connectStripeAccount({ db, gateway }, id, stripe);
      out(
        account,
        `Account ${account.id} now provisions into ${account.stripe_account_id ?? 'no Stripe account'}.` +
          (stripe === null ? '' : ` Queued ${queued} Stripe job(s) to bring it up to date.`),
      );
      return;
    }
    case 'keys create': {
      const accountId = required(values, 'account');
      const mode = required(values, 'mode');
      if (mode !== 'test' && mode !== 'live')
        throw new UsageError(`--mode must be test or live, not '${mode}'.`);
      const key = await accounts.createKey(db, accountId, mode);
      out(
        { id: key.id, account: accountId, mode, secret: key.secret },
        `Created ${mode} key ${key.id}: ${key.secret}\nIt is shown only this once.`,
      );
      return;
    }
    case 'keys revoke': {
      const id = single(rest, 'key id');
      await accounts.revokeKey(db, id);
      out({ id, revoked: true }, `Revoked ${id}.`);
      return;
    }
    case 'customers import': {
      const path = single(rest, 'file');
      const accountId = required(values, 'account');
      const mode = required(values, 'mode');
      if (mode !== 'test' && mode !== 'live')
        throw new UsageError(`--mode must be test or live, not '${mode}'.`);
      if (!(await accounts.listAccounts(db)).some((a) => a.id === accountId))
        throw new UsageError(`no such account: '${accountId}'.`);
      let summary: CustomerImportSummary;
      try {
        summary = await importCustomers({
          db,
          hooks: customerWriteHooks(gateway, db),
          accountId,
          mode,
          path,
          format: formatOf(path, values.format),
          dryRun: values['dry-run'] === true,
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (error instanceof ImportFileError || code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')
          throw new UsageError((error as Error).message);
        throw error;
      }
      out(summary, describeCustomerImport(summary, values['dry-run'] === true));
      return summary.failed > 0 ? 1 : undefined;
    }
    case 'stripe status': {
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'.`);
      const status = {
        ...(await stripeStatus(db, Date.now())),
        unprovisioned: await countUnprovisioned(db, gateway),
      };
      out(status, describeStatus(status));
      return;
    }
    case 'stripe retry': {
      const id = single(rest, 'job id');
      const job = await retryJob(db, id, Date.now());
      out(job, `Job ${id} is queued and runs as soon as a worker is free.`);
      return;
    }
    case 'stripe backfill': {
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'.`);
      const accountId = values.account;
      if (accountId !== undefined) await accounts.getAccount(db, accountId);
      const result = await backfill({ db, gateway }, { accountId, resume: true });
      out(result, `Queued ${result.queued} Stripe job(s); the worker runs them.`);
      return;
    }
    case 'stripe import': {
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'.`);
      const accountId = required(values, 'account');
      const mode = required(values, 'mode');
      if (mode !== 'test' && mode !== 'live')
        throw new UsageError(`--mode must be test or live, not '${mode}'.`);
      const reader = createStripeReader(stripeConfig);
      const summary = await importFromStripe({ db, gateway, reader }, accountId, mode, {
        dryRun: values['dry-run'] === true,
      });
      out(summary, describeImport(summary, values['dry-run'] === true));
      return;
    }
    case 'webhooks list': {
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'.`);
      const data = await endpointDeliveries(db);
      out({ data }, data.length > 0 ? data.map(describeEndpoint).join('\n') : 'No webhook endpoints.');
      return;
    }
    case 'webhooks status': {
      if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'.`);
      const status = await deliveriesStatus(db, Date.now());
      out(status, describeDeliveries(status));
      return;
    }
    default:
      throw new UsageError(command === '' ? 'no command given.' : `unknown command '${command}'.`);
  }
}

/** `listen` talks to the API, never the database: it runs before any configuration is read. */
function listen(args: string[]): Promise<number> {
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  return listenCommand(args, {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    signal: stop.signal,
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'listen') return listen(argv.slice(1));
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const out: Out = (json, human) =>
    process.stdout.write(
      `${values.json ? JSON.stringify(json, (_k, v) => (v === undefined ? undefined : v)) : human}\n`,
    );
  const config = loadConfig(process.env);
  let migrated: string[] = [];
  const db = await openMigrated(config, { onUpgraded: (applied) => (migrated = applied) });
  try {
    if (positionals[0] === 'migrate' && positionals.length === 1) {
      const applied =
        migrated.length > 0 ? `Applied ${migrated.join(', ')}. ${RESTART_AFTER_MIGRATION}\n` : '';
      out({ migrated: true }, `${applied}The database schema is up to date.`);
    } else {
      const status = await run(db, positionals, values, out, config);
      if (status !== undefined) return status;
    }
  } finally {
    await db.close();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof UsageError || error instanceof AppError || error instanceof ConfigError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `lunipay: ${message}${error instanceof UsageError ? ` (see lunipay --help)` : ''}\n`,
    );
    process.exit(usage ? 2 : 1);
  },
);
