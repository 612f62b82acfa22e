import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pino from 'pino';
import { countAccounts } from './accounts/accounts.service.js';
import { buildApp } from './app.js';
import { startBackground } from './background.js';
import { ConfigError, loadConfig } from './config.js';
import { openMigrated, RESTART_AFTER_MIGRATION } from './db/index.js';
import type { Worker } from './jobs/worker.js';
import { loadSecretBox } from './secret-key.js';
import { createStripeGateway } from './stripe/gateway.js';

/** How long the server waits for Redis at start before serving without it. */
const REDIS_READY_WAIT_MS = 2000;

/** The process around the app: configuration, signals and exit codes. Nothing else. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const secretBox = loadSecretBox(config.secrets);
  let migrated: string[] = [];
  const db = await openMigrated(config, { onUpgraded: (applied) => (migrated = applied) });
  // Counters only: a Redis that is down must not stop the API (the limiter then lets requests by).
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false })
    : undefined;
  redis?.on('error', () => {});
  // Until its connection is up, every count fails and the limiter lets the request by: wait for
  // it (briefly: a Redis that is down must not hold the server's start), so the limit holds from
  // the first request.
  if (redis) await Promise.race([once(redis, 'ready'), sleep(REDIS_READY_WAIT_MS)]).catch(() => {});
  const gateway = createStripeGateway(config.stripe);
  // Log lines are written 4 KiB or 200 ms at a time rather than one write(2) per request (about
  // 5% of a retrieve's CPU here). A hard kill (SIGKILL) can lose those last 200 ms of lines;
  // every other exit writes them out first.
  const logStream = pino.destination({ dest: 1, sync: true, minLength: 4096, periodicFlush: 200 });
  process.on('exit', () => logStream.flushSync());
  const app = await buildApp({ config, db, redis, gateway, logStream, secretBox });
  if (migrated.length > 0) app.log.warn({ migrations: migrated }, RESTART_AFTER_MIGRATION);
  let worker: Worker | null = null;

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    try {
      // Stops accepting, lets every in-flight request finish, then closes idle connections; the
      // worker meanwhile lets its running jobs finish and record what Stripe answered.
      await Promise.all([app.close(), worker?.stop()]);
      await db.close();
      redis?.disconnect();
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  // "Server listening" now, not 200 ms later: whoever started the process may be waiting for it.
  logStream.flushSync();
  if (!config.worker) {
    app.log.info('Stripe worker not started here (LUNIPAY_WORKER=false); run it with npm run worker');
  } else if (!closing) {
    worker = startBackground(config, {
      db,
      gateway,
      secretBox,
      log: app.log.child({ component: 'stripe-worker' }),
      backfillLog: app.log.child({ component: 'stripe-backfill' }),
    });
  }
  if ((await countAccounts(db)) === 0) {
    process.stdout.write(
      '\nNo accounts yet. Create one, with its test and live API keys:\n' +
        "  npm run --silent cli -- accounts create --name 'My shop'\n\n",
    );
  }
}

main().catch((error: unknown) => {
  const message =
    error instanceof ConfigError ? error.message : `Could not start: ${(error as Error).message ?? error}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
