import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import axe from 'axe-core';
import { type Browser, chromium, type Page } from 'playwright-core';
import { forEachDatabase, type Harness, startHarness, type TestAccount } from './helpers/harness.js';
import { startMailWorker } from './helpers/portal.js';
import { waitFor } from './helpers/receiver.js';
import { linkAndCode, type SmtpSink, startSmtp } from './helpers/smtp.js';

const CHROMIUM = '/usr/bin/chromium';
// CI installs Chromium (.ci/run) and must run this test; elsewhere it is skipped when absent.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? 'Debian chromium is not installed' : false;
const NEVER = ['NOTE-never-shown', 'META-never-shown', 'cus_Stripe-never-shown'];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** axe-core, injected into the page: no violation of the WCAG 2.x A and AA rules. */
async function assertAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(axe.source);
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: typeof axe }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    });
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(violations, [], `${what} has accessibility violations`);
}

async function shot(page: Page, name: string): Promise<void> {
  const dir = process.env.LUNIPAY_PORTAL_SCREENSHOTS;
  if (dir) await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
}

forEachDatabase('the customer portal in Chromium', (dialect) => {
  let h: Harness;
  let acct: TestAccount;
  let base: string;
  let smtp: SmtpSink;
  let worker: ReturnType<typeof startMailWorker>;
  let browser: Browser;
  const outside: string[] = [];

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await startHarness(dialect, { LUNIPAY_PUBLIC_URL: base });
    acct = await h.account('Ada’s Shop');
    await h.app.listen({ host: '127.0.0.1', port });
    smtp = await startSmtp();
    worker = startMailWorker(h, smtp.url);
    if (!skip) {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
    }
  });
  after(async () => {
    await browser?.close();
    await worker.stop();
    await smtp.close();
    await h.close();
  });

  async function newPage(javaScriptEnabled: boolean): Promise<Page> {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(base)) outside.push(r.url());
    });
    return page;
  }
  async function customer(email: string, firstName: string) {
    const res = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: { email, first_name: firstName, notes: NEVER[0], metadata: { crm: NEVER[1] } },
    });
    await h.db.kysely
      .updateTable('customers')
      .set({ stripe_customer_id: NEVER[2] })
      .where('id', '=', res.body.id)
      .execute();
    return res.body.id as string;
  }
  const neverShown = async (page: Page) => {
    const html = await page.content();
    for (const value of NEVER) assert.ok(!html.includes(value), `${value} on ${page.url()}`);
  };
  async function mailTo(address: string, count: number) {
    await waitFor(
      () => smtp.messages.filter((m) => JSON.stringify(m.to).includes(address)).length >= count,
      20_000,
    );
    const mail = smtp.messages.filter((m) => JSON.stringify(m.to).includes(address))[count - 1];
    assert.ok(mail);
    for (const part of [mail.text ?? '', String(mail.html)])
      for (const v of NEVER) assert.ok(!part.includes(v));
    return linkAndCode(mail);
  }

  test('merchant link → overview → edit, visible in the API and as an event; sign out; sign in by email', {
    skip,
  }, async () => {
    const email = `ada.${dialect}@example.com`;
    const id = await customer(email, 'Ada');
    const made = await h.request('POST', '/v1/portal_sessions', {
      key: acct.test,
      json: { customer: id, return_url: 'https://shop.example/account' },
    });
    const page = await newPage(true);
    await page.goto(made.body.url);
    assert.equal(new URL(page.url()).pathname, '/portal', 'the token leaves the address bar');
    await page.getByRole('heading', { name: 'Your details' }).waitFor();
    assert.ok(await page.getByText('Test mode').isVisible());
    assert.ok(await page.getByRole('link', { name: 'Back to Ada’s Shop' }).isVisible());
    await neverShown(page);
    await assertAccessible(page, 'the overview');
    await shot(page, 'overview');

    await page.getByRole('link', { name: 'Change your details' }).click();
    await assertAccessible(page, 'the edit form');
    await page.getByLabel('First name').fill('x'.repeat(300));
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Use at most 255 characters.').first().waitFor();
    await assertAccessible(page, 'the edit form with an error');
    await shot(page, 'edit-error');
    await page.getByLabel('First name').fill('Augusta');
    await page.getByLabel('Company name').fill('Analytical Engines');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Your details have been saved.').waitFor();
    const api = (await h.request('GET', `/v1/customers/${id}`, { key: acct.test })).body;
    assert.equal(api.first_name, 'Augusta');
    assert.equal(api.company_name, 'Analytical Engines');
    const events = (await h.request('GET', '/v1/events', { key: acct.test, query: { limit: 100 } })).body
      .data;
    assert.ok(
      events.some(
        (e: any) => e.type === 'customer.updated' && e.data.object.id === id && e.request.source === 'portal',
      ),
    );

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await assertAccessible(page, 'the signed-out page');
    await page.getByRole('link', { name: 'Sign in with your email' }).click();
    await assertAccessible(page, 'the sign-in page');
    await shot(page, 'sign-in');
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.getByText('Enter your email address.').first().waitFor();
    await assertAccessible(page, 'the sign-in page with an error');
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    await assertAccessible(page, 'the check-your-inbox page');
    await shot(page, 'check');
    const { path } = await mailTo(email, 1);
    await page.goto(`${base}${path}`);
    await assertAccessible(page, 'the link page');
    await shot(page, 'link');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Your details' }).waitFor();
    assert.ok(await page.getByText('Augusta').isVisible());
    // Used: the same link again is a page saying so.
    await page.goto(`${base}${path}`);
    await page.getByRole('heading', { name: 'This link is no longer valid' }).waitFor();
    await assertAccessible(page, 'the invalid-link page');

    // Revoked through the API: the browser session ends at its next request.
    const list = await h.request('GET', '/v1/portal_sessions', { key: acct.test, query: { customer: id } });
    const login = list.body.data.find((s: any) => s.source === 'login' && s.status === 'active');
    await h.request('POST', `/v1/portal_sessions/${login.id}/revoke`, { key: acct.test });
    await page.goto(`${base}/portal`);
    await page.getByRole('heading', { name: 'Your session has ended' }).waitFor();
    await assertAccessible(page, 'the session-ended page');
    assert.deepEqual(outside, [], 'nothing fetched from another origin');
  });

  test('with JavaScript off: sign in with the code, the chooser, an email change, sign out everywhere', {
    skip,
  }, async () => {
    const email = `shared.${dialect}@example.com`;
    const first = await customer(email, 'Primo');
    await customer(email, 'Secondo');
    const page = await newPage(false);
    await page.goto(`${base}/portal/${acct.id}/test/login`);
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
    const { code } = await mailTo(email, 1);
    await page.getByLabel('Code').fill(code);
    await page.getByRole('button', { name: 'Sign in with the code' }).click();
    await page.getByRole('heading', { name: 'Choose an account' }).waitFor();
    await shot(page, 'choose');
    await page.getByRole('button', { name: /Primo/ }).click();
    await page.getByRole('heading', { name: 'Your details' }).waitFor();
    assert.ok(await page.getByText('Primo').isVisible());
    await neverShown(page);

    const fresh = `primo.new.${dialect}@example.com`;
    await page.getByRole('link', { name: 'Change your email address' }).click();
    await page.getByLabel('New email address').fill(fresh);
    await page.getByRole('button', { name: 'Email me a confirmation' }).click();
    await page.getByRole('heading', { name: 'Confirm your new address' }).waitFor();
    const confirm = await mailTo(fresh, 1);
    await page.goto(`${base}${confirm.path}`);
    await page.getByRole('button', { name: 'Confirm this address' }).click();
    await page.getByText('Your email address has been changed.').waitFor();
    assert.equal((await h.request('GET', `/v1/customers/${first}`, { key: acct.test })).body.email, fresh);
    await waitFor(
      () =>
        smtp.messages.some(
          (m) => /was changed/.test(m.subject ?? '') && JSON.stringify(m.to).includes(email),
        ),
      20_000,
    );

    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await page.goto(`${base}/portal`);
    await page.getByRole('heading', { name: 'Your session has ended' }).waitFor();
    assert.deepEqual(outside, [], 'nothing fetched from another origin');
  });

  test('an expired merchant link shows its page', { skip }, async () => {
    const id = await customer(`late.${dialect}@example.com`, 'Late');
    const made = await h.request('POST', '/v1/portal_sessions', { key: acct.test, json: { customer: id } });
    await h.db.kysely
      .updateTable('portal_sessions')
      .set({ expires_at: 1 })
      .where('id', '=', made.body.id)
      .execute();
    const page = await newPage(true);
    const res = await page.goto(made.body.url);
    assert.equal(res?.status(), 410);
    await page.getByRole('heading', { name: 'This link is no longer valid' }).waitFor();
    await assertAccessible(page, 'the expired-link page');
    await shot(page, 'expired');
  });
});
