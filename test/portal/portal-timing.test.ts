import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase, useHarness } from '../helpers/harness.js';
import { Browser } from '../helpers/portal.js';

// Figures, not assertions (timing is never asserted): the time to answer a sign-in request for a
// known and an unknown address, and the signed-in overview against the API's retrieve. Printed
// as test diagnostics; run this file alone for them.

const ORIGIN = 'http://127.0.0.1:4242';
const N = 200;

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

forEachDatabase('portal timings', (dialect) => {
  const { h, acct } = useHarness(dialect, { LUNIPAY_PUBLIC_URL: ORIGIN, LUNIPAY_LOG_LEVEL: 'warn' });

  test(`sign-in requests for known and unknown addresses (median of ${N} each), and the overview`, async (t) => {
    for (let i = 0; i < N; i++) {
      await h.request('POST', '/v1/customers', { key: acct.test, json: { email: `known.${i}@example.com` } });
    }
    const path = `/portal/${acct.id}/test/login`;
    const b = new Browser(h.app, ORIGIN);
    await b.get(path);
    const cookie = [...b.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const send = async (email: string, i: number) => {
      const started = process.hrtime.bigint();
      const res = await h.app.inject({
        method: 'POST',
        url: path,
        // A client address of its own each time, so the per-client limit does not set in.
        remoteAddress: `10.${i >> 8}.${i & 255}.${email.startsWith('known') ? 1 : 2}`,
        headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: b.lastCsrf as string, email }).toString(),
      });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      assert.equal(res.statusCode, 303);
      return ms;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    // Interleaved, so drift on a shared machine affects both alike.
    for (let i = 0; i < N; i++) {
      known.push(await send(`known.${i}@example.com`, i));
      unknown.push(await send(`unknown.${i}@example.com`, i));
    }
    const mailed = await h.db.kysely
      .selectFrom('portal_sign_ins')
      .select('mailed')
      .where('mailed', '=', 1)
      .execute();
    assert.equal(mailed.length, 2 * N, 'every request queued its mail job, known or not');

    const customer = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: { email: 'o@example.com' },
    });
    const session = await h.request('POST', '/v1/portal_sessions', {
      key: acct.test,
      json: { customer: customer.body.id },
    });
    const reader = new Browser(h.app, ORIGIN);
    await reader.get(new URL(session.body.url).pathname);
    const time = async (fn: () => Promise<unknown>) => {
      const started = process.hrtime.bigint();
      await fn();
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const overview: number[] = [];
    const retrieve: number[] = [];
    for (let i = 0; i < N; i++) {
      overview.push(await time(() => reader.get('/portal')));
      retrieve.push(
        await time(() =>
          h.app.inject({
            method: 'GET',
            url: `/v1/customers/${customer.body.id}`,
            headers: { authorization: `Bearer ${acct.test}` },
          }),
        ),
      );
    }
    const k = median(known);
    const u = median(unknown);
    t.diagnostic(
      `[${dialect}] sign-in request, median: known ${k.toFixed(2)} ms, unknown ${u.toFixed(2)} ms, difference ${(k - u).toFixed(2)} ms`,
    );
    t.diagnostic(
      `[${dialect}] overview p50 ${median(overview).toFixed(2)} ms; API retrieve p50 ${median(retrieve).toFixed(2)} ms; ratio ${(median(overview) / median(retrieve)).toFixed(2)}`,
    );
  });
});
