/**
 * Every public method of @lunipay/sdk, as a user writes it. `npm test` compiles this file with
 * `tsc --noEmit` against the published types (dist/, through package.json "exports"), so the
 * types, generated from openapi.json, must keep fitting real usage.
 *
 * Run it against a local server:
 *   LUNIPAY_API_KEY=sk_test_… npx tsx examples/usage.ts
 */
import {
  APIError,
  AuthenticationError,
  ConnectionError,
  type Customer,
  type CustomerCreateParams,
  type CustomerListParams,
  type CustomerUpdateParams,
  type DeletedCustomer,
  IdempotencyError,
  InvalidRequestError,
  type ListPage,
  LuniPay,
  LuniPayError,
  RateLimitError,
  TimeoutError,
} from '@lunipay/sdk';

declare const process: { env: Record<string, string | undefined> };

const lunipay = new LuniPay(process.env.LUNIPAY_API_KEY ?? '', {
  baseUrl: process.env.LUNIPAY_BASE_URL ?? 'http://127.0.0.1:4242',
  timeoutMs: 10_000, // per attempt
  maxRetries: 3, // network errors, timeouts, 409, 429, 5xx
});

async function main(): Promise<void> {
  // create
  const params: CustomerCreateParams = {
    email: 'ada@example.com',
    first_name: 'Ada',
    last_name: 'Lovelace',
    phone: '+18765551234',
    company_name: 'Analytical Engines Ltd.',
    notes: 'VIP — priority support',
    metadata: { internal_id: 'ACCT-42' },
  };
  const ada: Customer = await lunipay.customers.create(params);
  console.log('created', ada.id, ada.livemode, ada.created);

  // create with your own idempotency key: running this twice creates one customer
  const once = await lunipay.customers.create(
    { email: 'grace@example.com' },
    { idempotencyKey: 'signup-grace-2024-04-14' },
  );

  // retrieve
  const again: Customer = await lunipay.customers.retrieve(ada.id);
  const phone: string | null = again.phone;
  console.log('retrieved', again.email, phone);

  // update: only the fields given; null clears; metadata merges (null removes a key)
  const changes: CustomerUpdateParams = { phone: null, metadata: { plan: 'pro', internal_id: null } };
  const updated = await lunipay.customers.update(ada.id, changes);
  const plan: string | undefined = updated.metadata?.plan;
  console.log('updated', plan);

  // list: one page
  const page: ListPage<Customer> = await lunipay.customers.list({ limit: 10 });
  console.log(page.object, page.data.length, page.has_more, page.url);

  // list: every customer, following cursors, 100 per request
  for await (const customer of lunipay.customers.list({ limit: 100 })) {
    console.log(customer.id, customer.email);
  }

  // list with filters
  const filters: CustomerListParams = {
    email: 'ADA@example.com',
    created: { gte: ada.created - 60 },
    limit: 50,
  };
  for await (const customer of lunipay.customers.list(filters)) console.log('match', customer.id);

  // list backwards: customers newer than a cursor, oldest to newest
  for await (const customer of lunipay.customers.list({ ending_before: ada.id, limit: 100 }))
    console.log(customer.id);

  // collect at most N
  const recent: Customer[] = await lunipay.customers.list({ limit: 100 }).toArray({ max: 250 });
  console.log(recent.length);

  // per-call options: timeout, retries, cancellation
  const controller = new AbortController();
  await lunipay.customers.retrieve(ada.id, { timeoutMs: 2_000, maxRetries: 0, signal: controller.signal });

  // del
  const deleted: DeletedCustomer = await lunipay.customers.del(ada.id);
  const flag: true = deleted.deleted;
  console.log('deleted', deleted.id, flag);
  await lunipay.customers.del(once.id);

  // errors
  try {
    await lunipay.customers.retrieve(ada.id);
  } catch (err) {
    if (err instanceof InvalidRequestError && err.code === 'resource_missing') {
      console.log('gone', err.status, err.param, err.requestId);
    } else if (err instanceof AuthenticationError) {
      console.log('check the key', err.code);
    } else if (err instanceof IdempotencyError) {
      console.log('key reused with other parameters');
    } else if (err instanceof RateLimitError) {
      console.log('slow down; retry after', err.retryAfter, 's');
    } else if (err instanceof APIError) {
      console.log('LuniPay had a problem', err.status, err.requestId);
    } else if (err instanceof TimeoutError) {
      console.log('no answer in time');
    } else if (err instanceof ConnectionError) {
      console.log('network problem', err.message);
    } else if (err instanceof LuniPayError) {
      console.log(err.type, err.code, err.message);
    } else {
      throw err;
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  (process as { exitCode?: number }).exitCode = 1;
});
