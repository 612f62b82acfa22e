import { startBackground } from './background.js';
import { ConfigError, loadConfig } from './config.js';
import { openMigrated, RESTART_AFTER_MIGRATION } from './db/index.js';
import { provisioningNotices } from './jobs/outbox.js';
import { jsonLogger } from './log.js';
import { loadSecretBox } from './secret-key.js';
import { createStripeGateway } from './stripe/gateway.js';

/**
 * The Stripe worker as a process of its own (`npm run worker`), for deployments that run it apart
 * from the API (LUNIPAY_WORKER=false there). Signals and exit codes only; the work is in jobs/.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = jsonLogger(config.logLevel);
  const secretBox = loadSecretBox(config.secrets);
  const db = await openMigrated(config, {
    onUpgraded: (applied) => log.warn({ migrations: applied }, RESTART_AFTER_MIGRATION),
  });
  const gateway = createStripeGateway(config.stripe);
  for (const notice of provisioningNotices(gateway)) log.warn({}, notice);
  const worker = startBackground(config, { db, gateway, secretBox, log });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down: finishing running jobs');
    try {
      await worker.stop();
      await db.close();
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  const message =
    error instanceof ConfigError ? error.message : `Could not start: ${(error as Error).message ?? error}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
