import { after, before } from 'node:test';
import { type Customer, LuniPay, type LuniPayOptions } from '../../sdk/src/index.js';
import { startFaultProxy } from '../../sdk/test/fault-proxy.js';
import type { FaultyServer } from '../../sdk/test/fault-server.js';
import * as accounts from '../../src/accounts/accounts.service.js';
import { type FreshDatabase, freshDatabase, madeLater } from '../helpers/harness.js';
import { type ServerProcess, startServer } from '../helpers/processes.js';

/**
 * The SDK (imported from its TypeScript source, so no build of it is needed) against the real
 * server: a server process on a fresh SQLite database, and the SDK's fault-injecting proxy in
 * front of it, which records what the SDK sends and fails requests on demand. Each test takes a
 * new account, so what it lists and counts is its own.
 */

export const REQUEST_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;
export const CUSTOMER_ID = /^cus_[0-9A-HJKMNP-TV-Z]{26}$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** A well-formed id no customer has. */
export const MISSING_ID = 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY';

export interface SdkAccount {
  key: string;
  keyId: string;
}

export interface SdkServer {
  server: ServerProcess;
  proxy: FaultyServer;
  /** A new account's test key (and its id, to revoke it). */
  account(): Promise<SdkAccount>;
  /** A client for `key` through the proxy, with backoffs of milliseconds. */
  client(key: string, options?: LuniPayOptions): LuniPay;
  /** A client for `key` straight to the server. */
  direct(key: string, options?: LuniPayOptions): LuniPay;
  revoke(account: SdkAccount): Promise<void>;
}

/**
 * For a suite: the server and the proxy, started before its tests and stopped after them. Call it
 * inside a `describe`: a file's top-level `before` hooks do not wait for one another.
 */
export function useSdkServer(env: Record<string, string> = {}): SdkServer {
  let fresh: FreshDatabase | undefined;
  let server: ServerProcess | undefined;
  let proxy: FaultyServer | undefined;
  before(async () => {
    fresh = await freshDatabase('sqlite');
    server = await startServer({ LUNIPAY_DATABASE_URL: fresh.url, ...env });
    proxy = await startFaultProxy(server.url);
  });
  after(async () => {
    await proxy?.close();
    await server?.kill('SIGTERM');
    await fresh?.drop();
  });
  const db = () => {
    if (!fresh) throw new Error('the SDK server is used before the suite has started it');
    return fresh.db;
  };
  return {
    server: madeLater('server', () => server),
    proxy: madeLater('proxy', () => proxy),
    async account() {
      const { keys } = await accounts.createAccount(db(), { name: 'SDK shop', stripeAccountId: null });
      return { key: keys.test.secret, keyId: keys.test.id };
    },
    client: (key, options = {}) =>
      new LuniPay(key, {
        baseUrl: (proxy as FaultyServer).url,
        retryDelayMs: 5,
        maxRetryDelayMs: 20,
        ...options,
      }),
    direct: (key, options = {}) => new LuniPay(key, { baseUrl: (server as ServerProcess).url, ...options }),
    revoke: (account) => accounts.revokeKey(db(), account.keyId).then(() => undefined),
  };
}

/**
 * Creates `count` customers one after another (so creation order is id order), oldest first.
 * `email(i)` names each one's email.
 */
export async function seed(
  lunipay: LuniPay,
  count: number,
  email: (i: number) => string = (i) => `seed${i}@example.com`,
): Promise<Customer[]> {
  const made: Customer[] = [];
  for (let i = 0; i < count; i++) made.push(await lunipay.customers.create({ email: email(i) }));
  return made;
}

/** Every customer the key can see, walked page by page. */
export async function all(lunipay: LuniPay): Promise<Customer[]> {
  return lunipay.customers.list({ limit: 100 }).toArray({ max: 10_000 });
}
