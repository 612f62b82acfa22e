import type { Config } from './config.js';
import type { Db } from './db/index.js';
import { backfillAtStart } from './jobs/stripe-backfill.js';
import { startWorker, type Worker } from './jobs/worker.js';
import type { Log } from './log.js';
import { createMailTransport } from './mail/transport.js';
import { portalComposers } from './portal/mail.js';
import type { SecretBox } from './secret-key.js';
import type { StripeGateway } from './stripe/gateway.js';
import { deliveryContext } from './webhooks/deliver-event.job.js';
import { writeEventAndDeliveries } from './webhooks/deliveries.enqueue.js';

/**
 * Everything a process runs in the background, made from the configuration one way whether the
 * server runs it beside the API or `npm run worker` runs it alone: the job lanes (Stripe,
 * webhook deliveries, mail) and the start-up backfill of customers not yet in Stripe.
 */
export function startBackground(
  config: Config,
  deps: { db: Db; gateway: StripeGateway; secretBox: SecretBox; log: Log; backfillLog?: Log },
): Worker {
  const { db, gateway, secretBox, log } = deps;
  const worker = startWorker({
    db,
    gateway,
    log,
    eventHook: writeEventAndDeliveries,
    deliveries: deliveryContext(config.webhooks, secretBox),
    mail: {
      transport: createMailTransport(config.mail),
      composers: portalComposers({ publicUrl: config.publicUrl, from: config.mail.from }),
    },
    settings: {
      concurrency: config.webhooks.stripeConcurrency,
      webhookConcurrency: config.webhooks.webhookConcurrency,
    },
  });
  void backfillAtStart({ db, gateway, log: deps.backfillLog ?? log });
  return worker;
}
