import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase, useHarness } from './helpers/harness.js';
import { runCli } from './helpers/processes.js';

/**
 * `lunipay webhooks list` and `webhooks status` against a database the app in this process
 * writes: endpoints through the API, deliveries queued by its customer writes, and the states a
 * worker would leave them in set on the rows, so the counts are known exactly.
 */
forEachDatabase('npm run cli -- webhooks', (dialect) => {
  const { h, acct } = useHarness(dialect);
  const cli = (...args: string[]) => runCli(args, { LUNIPAY_DATABASE_URL: h.databaseUrl });

  const endpoint = async (key: string, json: Record<string, unknown>) => {
    const res = await h.request('POST', '/v1/webhook_endpoints', { key, json });
    assert.equal(res.status, 200, res.raw);
    return res.body.id as string;
  };
  const customer = async (key: string, email: string) => {
    const res = await h.request('POST', '/v1/customers', { key, json: { email } });
    assert.equal(res.status, 200, res.raw);
  };
  const deliveries = (we: string) =>
    h.db.kysely.selectFrom('jobs').selectAll().where('endpoint_id', '=', we).orderBy('seq').execute();
  const setState = (id: string, state: 'running' | 'failed') =>
    h.db.kysely.updateTable('jobs').set({ state }).where('id', '=', id).execute();

  test('with no endpoints: an empty list and zero totals', async () => {
    const list = await cli('webhooks', 'list', '--json');
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), { data: [] });
    assert.equal((await cli('webhooks', 'list')).stdout, 'No webhook endpoints.\n');
    const status = await cli('webhooks', 'status', '--json');
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout), {
      pending: 0,
      running: 0,
      failed: 0,
      endpoints_disabled: 0,
      oldest_pending_age_seconds: null,
    });
  });

  test('list shows every endpoint with its counts and no query string; status the totals', async () => {
    const token = 'tok_s3cret_in_query';
    const a = await endpoint(acct.test, {
      url: `https://example.com/hooks/a?token=${token}#frag`,
      enabled_events: ['customer.*'],
    });
    const b = await endpoint(acct.live, {
      url: 'https://example.org/b',
      enabled_events: ['customer.created'],
    });
    for (const email of ['q@example.com', 'r@example.com', 'f@example.com']) await customer(acct.test, email);
    await customer(acct.live, 'live@example.com');
    const [, running, failed] = await deliveries(a);
    await setState(running?.id as string, 'running');
    await setState(failed?.id as string, 'failed');
    const off = await h.request('POST', `/v1/webhook_endpoints/${b}`, {
      key: acct.live,
      json: { disabled: true },
    });
    assert.equal(off.status, 200, off.raw);

    const list = await cli('webhooks', 'list', '--json');
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout.trim().split('\n').length, 1);
    assert.deepEqual(JSON.parse(list.stdout).data, [
      {
        id: a,
        account: acct.id,
        mode: 'test',
        url: 'https://example.com/hooks/a',
        status: 'enabled',
        enabled_events: ['customer.*'],
        pending: 2,
        failed: 1,
      },
      {
        id: b,
        account: acct.id,
        mode: 'live',
        url: 'https://example.org/b',
        status: 'disabled',
        enabled_events: ['customer.created'],
        pending: 1,
        failed: 0,
      },
    ]);

    const status = await cli('webhooks', 'status', '--json');
    assert.equal(status.code, 0, status.stderr);
    const totals = JSON.parse(status.stdout);
    assert.deepEqual(
      [totals.pending, totals.running, totals.failed, totals.endpoints_disabled],
      [3, 1, 1, 1],
    );
    assert.ok(totals.oldest_pending_age_seconds >= 0 && totals.oldest_pending_age_seconds < 60);

    const human = await cli('webhooks', 'list');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`${a}  ${acct.id}  test  enabled  https://example.com/hooks/a\\n`));
    assert.match(human.stdout, /events: customer\.\* {3}pending: 2 {3}failed: 1/);
    assert.match(human.stdout, new RegExp(`${b} .* live  disabled`));
    for (const out of [list.stdout, human.stdout]) assert.ok(!out.includes(token), 'no query string');
    const humanStatus = await cli('webhooks', 'status');
    assert.match(humanStatus.stdout, /pending: 3 \(oldest waiting \d+ s\), of which running: 1/);
    assert.match(humanStatus.stdout, /failed: 1 {3}endpoints disabled: 1/);
  });

  test('bad arguments exit 2 with one line on stderr', async () => {
    for (const args of [
      ['webhooks', 'list', 'extra'],
      ['webhooks', 'status', 'we_x', '--json'],
      ['webhooks', 'bogus'],
      ['webhooks', 'list', '--frobnicate'],
    ]) {
      const res = await cli(...args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.equal(res.stdout, '', args.join(' '));
      assert.equal(res.stderr.trim().split('\n').length, 1, args.join(' '));
    }
  });
});
