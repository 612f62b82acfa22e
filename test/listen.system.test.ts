import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import * as accounts from '../src/accounts/accounts.service.js';
import { type FreshDatabase, freshDatabase } from './helpers/harness.js';
import { runCli, type ServerProcess, type Spawned, spawnEntry, startServer } from './helpers/processes.js';

/**
 * `lunipay listen` as a developer runs it: the real server, the CLI as its own process, and a
 * receiver on loopback that verifies every forwarded event with Stripe's SDK and a Standard
 * Webhooks library, using only the secret the CLI printed. listen speaks HTTP to the API and
 * never opens the database, so one dialect is enough here.
 */

const stripe = new Stripe('sk_test_unused');
const WAIT_MS = 20_000;

interface Received {
  raw: string;
  headers: IncomingHttpHeaders;
}

/** A receiver that answers 200 and keeps each raw body with its headers, to verify afterwards. */
async function startReceiver() {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ raw: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** What each library makes of one request, given only the secret the CLI printed. */
function verify(r: Received, secret: string) {
  const event = JSON.parse(r.raw) as { id: string; sequence: number };
  return {
    id: event.id,
    sequence: event.sequence,
    stripe: verifies(() =>
      stripe.webhooks.constructEvent(r.raw, r.headers['stripe-signature'] as string, secret),
    ),
    standard: verifies(() => new Webhook(secret).verify(r.raw, plain(r.headers))),
  };
}

function verifies(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

function plain(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]));
}

/** Polls until `ready` is true, failing with `what` after WAIT_MS. */
async function waitFor(what: string, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const secretOf = (cli: Spawned) => /signing secret is (whsec_[A-Za-z0-9+/=]+)/.exec(cli.stderr())?.[1];
const printed = (cli: Spawned) =>
  cli
    .stdout()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { id: string; sequence: number; type: string });

describe('lunipay listen', () => {
  let fresh: FreshDatabase;
  let server: ServerProcess;
  let key: string;
  const running: Spawned[] = [];

  before(async () => {
    fresh = await freshDatabase('sqlite');
    key = (await accounts.createAccount(fresh.db, { name: 'Listen shop', stripeAccountId: null })).keys.test
      .secret;
    server = await startServer({ LUNIPAY_DATABASE_URL: fresh.url });
  });
  after(async () => {
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
    await server.kill('SIGTERM');
    await fresh.drop();
  });

  const listen = (...args: string[]) => {
    const cli = spawnEntry('cli', ['listen', '--api-key', key, '--api-base', server.url, ...args]);
    running.push(cli);
    return cli;
  };
  const api = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { id: string };
  };

  test('prints and forwards every event in sequence order, signed for both libraries', async () => {
    const first = await api('/v1/customers', { email: 'before@listen.test' });
    const receiver = await startReceiver();
    try {
      const cli = listen('--since-sequence', '0', '--forward-to', receiver.url);
      await waitFor('the printed secret', () => secretOf(cli) !== undefined);
      const secret = secretOf(cli) as string;
      assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.ok(!cli.output().includes(key.slice(8)), 'the API key is never printed');

      await api(`/v1/customers/${first.id}`, { first_name: 'Ada' });
      const second = await api('/v1/customers', { email: 'after@listen.test' });
      await api(`/v1/customers/${second.id}`, { metadata: { plan: 'pro' } });
      await waitFor('four forwarded events', () => receiver.received.length >= 4);

      const verified = receiver.received.map((r) => verify(r, secret));
      assert.deepEqual(
        verified.map((v) => v.sequence),
        [1, 2, 3, 4],
      );
      assert.ok(
        verified.every((v) => v.stripe && v.standard),
        JSON.stringify(verified),
      );
      // A stranger's secret is refused by both: the check above is not vacuous.
      const stranger = verify(
        receiver.received[0] as Received,
        `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
      );
      assert.deepEqual([stranger.stripe, stranger.standard], [false, false]);
      assert.deepEqual(
        printed(cli).map((e) => e.sequence),
        [1, 2, 3, 4],
      );
      assert.deepEqual(
        printed(cli).map((e) => e.id),
        verified.map((v) => v.id),
      );
      assert.deepEqual(await cli.kill('SIGTERM'), { code: 0, signal: null });
    } finally {
      await receiver.close();
    }
  });

  test('starts at the newest event without --since-sequence, and filters with --events', async () => {
    const cli = listen('--events', 'customer.*');
    await waitFor('the start line', () => /after sequence \d+/.test(cli.stderr()));
    const start = Number(/after sequence (\d+)/.exec(cli.stderr())?.[1]);
    assert.ok(start >= 4, cli.stderr());
    const created = await api('/v1/customers', { email: 'now@listen.test' });
    await waitFor('the new event', () => printed(cli).length >= 1);
    assert.equal(printed(cli)[0]?.sequence, start + 1);

    const updates = listen('--since-sequence', '0', '--events', 'customer.updated');
    await api(`/v1/customers/${created.id}`, { last_name: 'Lovelace' });
    await waitFor('every update', () => printed(updates).length >= 3);
    assert.ok(printed(updates).every((e) => e.type === 'customer.updated'));
    assert.deepEqual(await updates.kill('SIGINT'), { code: 0, signal: null });
    assert.deepEqual(await cli.kill('SIGTERM'), { code: 0, signal: null });
  });

  test('the secret is the same on every run for one key, and another for another key', async () => {
    const secrets: string[] = [];
    for (const apiKey of [key, key, `${key}x`]) {
      const cli = spawnEntry('cli', [
        'listen',
        '--api-key',
        apiKey,
        '--api-base',
        server.url,
        '--forward-to',
        'http://127.0.0.1:9/',
      ]);
      running.push(cli);
      if (apiKey === key) {
        await waitFor('the printed secret', () => secretOf(cli) !== undefined);
        secrets.push(secretOf(cli) as string);
        await cli.kill('SIGTERM');
      } else {
        // A key the API refuses ends the command before any secret is printed.
        const exit = await Promise.race([cli.exited, new Promise((r) => setTimeout(r, WAIT_MS, 'hung'))]);
        assert.deepEqual(exit, { code: 2, signal: null });
        assert.match(cli.stderr(), /the API refused the key/);
        assert.equal(cli.stderr().trim().split('\n').length, 1);
      }
    }
    assert.equal(secrets[0], secrets[1]);
  });

  test('a receiver that fails is reported and skipped, not fatal', async () => {
    const cli = listen('--since-sequence', '0', '--forward-to', 'http://127.0.0.1:9/down');
    await waitFor('the first event given up', () =>
      /failed .* after 3 attempts; moving on/.test(cli.stderr()),
    );
    // The next event is printed after the give-up line, so it is waited for, not assumed.
    await waitFor('the next event, after a failed forward', () => printed(cli).length >= 2);
    assert.deepEqual(await cli.kill('SIGTERM'), { code: 0, signal: null });
  });

  test('bad arguments exit 2 with one line on stderr', async () => {
    const cases = [
      ['listen'],
      ['listen', '--api-key', 'not-a-key'],
      ['listen', '--api-key', key, '--since-sequence', '-1'],
      ['listen', '--api-key', key, '--since-sequence', 'x'],
      ['listen', '--api-key', key, '--api-base', 'ftp://example.com'],
      ['listen', '--api-key', key, '--forward-to', 'nope'],
      ['listen', '--api-key', key, '--bogus'],
      ['listen', '--api-key', key, 'extra'],
      ['listen', '--api-key', key, '--api-base', server.url, '--events', 'invoice.paid'],
    ];
    for (const args of cases) {
      const res = await runCli(args, {});
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
      assert.equal(res.stdout, '');
    }
  });
});
