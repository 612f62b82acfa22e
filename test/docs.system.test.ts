import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { type Harness, startHarness } from './helpers/harness.js';

const CHROMIUM = '/usr/bin/chromium';
// CI installs Chromium (.ci/run) and must run this test; elsewhere it is skipped when absent.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? 'Debian chromium is not installed' : false;

let h: Harness;
let url: string;
before(async () => {
  h = await startHarness('sqlite');
  url = await h.app.listen({ host: '127.0.0.1', port: 0 });
});
after(() => h.close());

test('GET /docs is an HTML page that loads its script from this server', async () => {
  const res = await h.request('GET', '/docs');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  const scripts = [...res.raw.matchAll(/src="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(scripts, ['/docs/redoc.standalone.js']);
  assert.doesNotMatch(res.raw, /https?:\/\//, 'nothing is fetched from the internet');
  const js = await h.request('GET', '/docs/redoc.standalone.js');
  assert.equal(js.status, 200);
  assert.ok(js.raw.length > 100_000);
});

test('the /docs page renders every customer operation in headless Chromium', { skip }, async () => {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    // Anything not from this server must be stopped by the page's CSP before it reaches the network.
    const outside: string[] = [];
    const isOutside = (u: string) => !u.startsWith(url) && !u.startsWith('data:') && !u.startsWith('blob:');
    page.on('request', (r) => {
      if (isOutside(r.url())) outside.push(r.url());
    });
    page.on('requestfailed', (r) => {
      // Chromium reports a request its CSP refused as failed with the reason `csp`.
      if (/csp/i.test(r.failure()?.errorText ?? '')) outside.splice(outside.indexOf(r.url()), 1);
    });
    await page.goto(`${url}/docs`);
    // Redoc renders each operation as a section heading once the document has loaded.
    await page.locator('h2', { hasText: 'Create a customer' }).first().waitFor({ timeout: 30_000 });
    if (process.env.LUNIPAY_DOCS_SCREENSHOT)
      await page.screenshot({ path: process.env.LUNIPAY_DOCS_SCREENSHOT });
    const text = (await page.locator('h2').allInnerTexts()).join('\n');
    for (const summary of [
      'Create a customer',
      'Retrieve a customer',
      'Update a customer',
      'List customers',
      'Delete a customer',
    ]) {
      assert.ok(text.includes(summary), `the page lists "${summary}"`);
    }
    assert.deepEqual(outside, [], 'the page sent no request outside this server');
  } finally {
    await browser.close();
  }
});
