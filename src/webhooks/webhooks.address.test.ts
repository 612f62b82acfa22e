import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHarness } from '../../test/helpers/harness.js';
import { isBlockedAddress, isBlockedHost, urlProblem } from './webhooks.address.js';

/** Every blocked range, by its first, an inner and its last address, in every form it can take. */
const BLOCKED_V4 = [
  ['unspecified', '0.0.0.0', '0.1.2.3', '0.255.255.255'],
  ['private 10/8', '10.0.0.0', '10.20.30.40', '10.255.255.255'],
  ['carrier-grade NAT', '100.64.0.0', '100.100.100.100', '100.127.255.255'],
  ['loopback', '127.0.0.0', '127.0.0.1', '127.255.255.255'],
  ['link-local', '169.254.0.0', '169.254.169.254', '169.254.255.255'],
  ['private 172.16/12', '172.16.0.0', '172.20.1.1', '172.31.255.255'],
  ['private 192.168/16', '192.168.0.0', '192.168.1.1', '192.168.255.255'],
  ['multicast', '224.0.0.0', '239.1.2.3', '239.255.255.255'],
  ['reserved and broadcast', '240.0.0.0', '250.1.2.3', '255.255.255.255'],
];
const BLOCKED_V6 = [
  ['unspecified', '::', '0:0:0:0:0:0:0:0'],
  ['loopback', '::1', '0:0:0:0:0:0:0:1'],
  ['link-local fe80::/10', 'fe80::', 'fe80::1', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['unique-local fc00::/7', 'fc00::', 'fd12:3456:789a::1', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ['site-local', 'fec0::1'],
  ['multicast', 'ff02::1'],
];
/** Just outside each range: public addresses, never blocked. */
const PUBLIC = [
  '1.1.1.1',
  '8.8.8.8',
  '9.255.255.255',
  '11.0.0.0',
  '100.63.255.255',
  '100.128.0.0',
  '126.255.255.255',
  '128.0.0.0',
  '169.253.255.255',
  '169.255.0.0',
  '172.15.255.255',
  '172.32.0.0',
  '192.167.255.255',
  '192.169.0.0',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  'fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  'fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
];

/** An IPv4 address as IPv6: IPv4-mapped (both spellings), NAT64, 6to4 and IPv4-compatible. */
function v6Forms(v4: string): string[] {
  const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
  const high = ((a << 8) | b).toString(16);
  const low = ((c << 8) | d).toString(16);
  return [
    `::ffff:${v4}`,
    `::ffff:${high}:${low}`,
    `64:ff9b::${high}:${low}`,
    `2002:${high}:${low}::1`,
    `::${high}:${low}`,
  ];
}

test('isBlockedAddress: every address of every blocked range, in every IPv4 and IPv6 form', () => {
  for (const [name, ...addresses] of BLOCKED_V4) {
    for (const ip of addresses as string[]) {
      assert.ok(isBlockedAddress(ip), `${name}: ${ip}`);
      for (const form of v6Forms(ip)) assert.ok(isBlockedAddress(form), `${name}: ${form}`);
    }
  }
  for (const [name, ...addresses] of BLOCKED_V6) {
    for (const ip of addresses as string[]) assert.ok(isBlockedAddress(ip), `${name}: ${ip}`);
  }
  for (const ip of PUBLIC) assert.equal(isBlockedAddress(ip), false, ip);
  // IPv4-compatible addresses carry 0.0.0.x for ::x: blocked as "this network".
  assert.ok(isBlockedAddress('::2'));
  // Not an address at all is never an allowed one.
  for (const text of ['', 'example.com', '1.2.3', '[::1]', '127.0.0.1:80'])
    assert.ok(isBlockedAddress(text), text);
});

test('isBlockedHost: IP literals as URLs spell them, localhost and the names under it', () => {
  for (const host of [
    '127.0.0.1',
    '[::1]',
    '[::ffff:7f00:1]',
    '[fe80::1]',
    '10.0.0.1',
    'localhost',
    'LOCALHOST',
    'localhost.',
    'api.localhost',
    'a.b.localhost.',
  ]) {
    assert.ok(isBlockedHost(host), host);
  }
  for (const host of [
    'example.com',
    'localhost.example.com',
    'mylocalhost',
    '8.8.8.8',
    '[2606:4700:4700::1111]',
  ]) {
    assert.equal(isBlockedHost(host), false, host);
  }
});

test('urlProblem: refuses every internal host however the URL spells it', () => {
  const rules = { livemode: false, allowPrivate: false };
  const refused = [
    'http://127.0.0.1/',
    'http://127.1/',
    'http://2130706433/', // 127.0.0.1 as one number
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://0x7f.1/',
    'http://127.0.0.1./',
    'http://0/',
    'http://0.0.0.0:8080/',
    'http://[::]/',
    'http://[::1]:3000/x',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://[::ffff:10.0.0.1]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[fe80::1]/',
    'http://[fd00::1]/',
    'http://10.1.2.3/',
    'http://172.16.0.1/',
    'http://192.168.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://localhost/',
    'http://LocalHost:3000/',
    'http://localhost./',
    'http://app.localhost/',
  ];
  for (const url of refused) {
    assert.match(String(urlProblem(url, rules)), /internal address/, url);
    assert.equal(urlProblem(url, { ...rules, allowPrivate: true }), null, `${url} with allowPrivate`);
  }
  for (const url of [
    'https://example.com/',
    'http://example.com:8080/hooks?x=1',
    'https://[2606:4700:4700::1111]/',
    'https://8.8.8.8/',
  ]) {
    assert.equal(urlProblem(url, rules), null, url);
  }
});

test('urlProblem: http(s) only, no credentials, at most 2,048 characters, https in live mode', () => {
  const rules = { livemode: false, allowPrivate: true };
  const cases: [string, RegExp][] = [
    ['ftp://example.com/', /only http and https/],
    ['file:///etc/passwd', /only http and https/],
    ['javascript:alert(1)', /only http and https/],
    ['ws://example.com/', /only http and https/],
    ['https://user@example.com/', /user name or password/],
    ['https://user:pass@example.com/', /user name or password/],
    ['https://:pass@example.com/', /user name or password/],
    ['example.com/hooks', /absolute http or https URL/],
    ['/hooks', /absolute http or https URL/],
    ['https://exa mple.com/', /absolute/],
    [' https://example.com/', /absolute/],
    ['https://example.com/\n', /absolute/],
    ['https://example.com/\t/x', /absolute/],
    [`https://example.com/${'a'.repeat(2048 - 19)}`, /at most 2048/],
  ];
  for (const [url, problem] of cases) assert.match(String(urlProblem(url, rules)), problem, url);
  const longest = `https://example.com/${'é'.repeat(2048 - 20)}`;
  assert.equal([...longest].length, 2048);
  assert.equal(urlProblem(longest, rules), null, 'lengths count code points');
  assert.match(
    String(urlProblem('http://example.com/', { ...rules, livemode: true })),
    /live-mode endpoint must use https/,
  );
  assert.equal(urlProblem('https://example.com/', { ...rules, livemode: true }), null);
});

test('LUNIPAY_WEBHOOK_ALLOW_PRIVATE=true lets an endpoint have a local URL', async () => {
  for (const [env, status] of [
    [{}, 400],
    [{ LUNIPAY_WEBHOOK_ALLOW_PRIVATE: 'true' }, 200],
  ] as const) {
    const h = await startHarness('sqlite', env);
    try {
      const acct = await h.account();
      for (const url of [
        'http://127.0.0.1:3000/webhooks',
        'http://localhost:3000/webhooks',
        'http://[::1]/',
      ]) {
        const res = await h.request('POST', '/v1/webhook_endpoints', {
          key: acct.test,
          json: { url, enabled_events: ['*'] },
        });
        assert.equal(res.status, status, `${url}: ${res.raw}`);
        if (status === 400) assert.equal(res.body.error.param, 'url');
      }
    } finally {
      await h.close();
    }
  }
});
