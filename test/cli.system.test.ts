import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FreshDatabase, forEachDatabase, freshDatabase } from './helpers/harness.js';
import { runCli } from './helpers/processes.js';

forEachDatabase('command line', (dialect) => {
  let fresh: FreshDatabase;
  let env: Record<string, string>;
  before(async () => {
    fresh = await freshDatabase(dialect);
    env = { LUNIPAY_DATABASE_URL: fresh.url };
  });
  after(() => fresh.drop());

  const cli = (...args: string[]) => runCli(args, env);

  test('accounts create --json prints exactly the account object (id, name, stripe_account_id, keys), and nothing else', async () => {
    const res = await cli(
      'accounts',
      'create',
      '--name',
      'Ada’s shop',
      '--stripe-account',
      'acct_1Test',
      '--json',
    );
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    assert.deepEqual(Object.keys(out), ['id', 'name', 'stripe_account_id', 'keys']);
    assert.match(out.id, /^acct_[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    assert.equal(out.name, 'Ada’s shop');
    assert.equal(out.stripe_account_id, 'acct_1Test');
    assert.match(out.keys.test, /^sk_test_[0-9A-Za-z]{24,}$/);
    assert.match(out.keys.live, /^sk_live_[0-9A-Za-z]{24,}$/);
    assert.equal(res.stdout.trim().split('\n').length, 1);
    // The printed keys are the only copies: the database holds hashes.
    const rows = await fresh.db.kysely
      .selectFrom('api_keys')
      .selectAll()
      .where('account_id', '=', out.id)
      .execute();
    assert.equal(rows.length, 2);
    assert.ok(!JSON.stringify(rows).includes(out.keys.test.slice(8)));
  });

  test('accounts list, keys create and keys revoke', async () => {
    const created = JSON.parse((await cli('accounts', 'create', '--name', 'Listed', '--json')).stdout);
    const list = JSON.parse((await cli('accounts', 'list', '--json')).stdout);
    const row = list.data.find((a: { id: string }) => a.id === created.id);
    assert.deepEqual(Object.keys(row), ['id', 'name', 'stripe_account_id', 'created']);
    assert.equal(row.stripe_account_id, null);
    assert.equal(typeof row.created, 'number');

    const key = await cli('keys', 'create', '--account', created.id, '--mode', 'live', '--json');
    assert.equal(key.code, 0, key.stderr);
    const k = JSON.parse(key.stdout);
    assert.deepEqual(Object.keys(k), ['id', 'account', 'mode', 'secret']);
    assert.match(k.id, /^key_/);
    assert.equal(k.account, created.id);
    assert.equal(k.mode, 'live');
    assert.match(k.secret, /^sk_live_[0-9A-Za-z]{24,}$/);

    const revoked = await cli('keys', 'revoke', k.id, '--json');
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.deepEqual(JSON.parse(revoked.stdout), { id: k.id, revoked: true });
    const human = await cli('accounts', 'list');
    assert.match(human.stdout, /Listed/);
  });

  test('bad arguments exit 2 with one line on stderr', async () => {
    const cases = [
      ['accounts', 'create', '--json'],
      ['accounts', 'create', '--name', 'x', '--stripe-account', 'nope', '--json'],
      ['keys', 'create', '--account', 'acct_missing', '--mode', 'test', '--json'],
      ['keys', 'create', '--account', 'acct_x', '--mode', 'staging'],
      ['keys', 'revoke', 'key_missing', '--json'],
      ['keys', 'revoke'],
      ['bogus'],
      ['accounts', 'list', '--frobnicate'],
      [],
    ];
    for (const args of cases) {
      const res = await cli(...args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.equal(res.stdout, '', args.join(' '));
      assert.equal(res.stderr.trim().split('\n').length, 1, args.join(' '));
    }
  });

  test('migrate succeeds on an up-to-date database', async () => {
    const res = await cli('migrate');
    assert.equal(res.code, 0, res.stderr);
  });
});

test('a bad configuration value stops the command with a message naming the variable', async () => {
  const res = await runCli(['accounts', 'list'], { PORT: 'eighty', LUNIPAY_DATABASE_URL: 'sqlite::memory:' });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /PORT/);
});
