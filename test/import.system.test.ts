import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  createTestAccount,
  type FreshDatabase,
  forEachDatabase,
  freshDatabase,
  type TestAccount,
} from './helpers/harness.js';
import { runCli } from './helpers/processes.js';

// `customers import` as a person runs it: the summary, the exit status, the usage errors.

forEachDatabase('customers import (command line)', (dialect) => {
  let fresh: FreshDatabase;
  let acct: TestAccount;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'lunipay-import-cli-'));
  before(async () => {
    fresh = await freshDatabase(dialect);
    acct = await createTestAccount(fresh.db);
    env = { LUNIPAY_DATABASE_URL: fresh.url };
  });
  after(() => fresh.drop());
  const cli = (...args: string[]) => runCli(['customers', 'import', ...args], env);
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  test('a good file: exit 0 and the summary; again: all skipped; a bad row: exit 1 with its line', async () => {
    const good = write('good.csv', 'email,first_name\r\nada@example.com,Ada\r\ngrace@example.com,Grace\r\n');
    const first = await cli('--account', acct.id, '--mode', 'test', good, '--json');
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { created: 2, skipped: 0, failed: 0, errors: [] });
    const again = await cli('--account', acct.id, '--mode', 'test', good, '--json');
    assert.deepEqual(JSON.parse(again.stdout), { created: 0, skipped: 2, failed: 0, errors: [] });

    const mixed = write(
      'mixed.ndjson',
      `${JSON.stringify({ email: 'alan@example.com' })}\n${JSON.stringify({ email: 5 })}\n`,
    );
    const dry = await cli('--account', acct.id, '--mode', 'test', mixed, '--dry-run', '--json');
    assert.equal(dry.code, 1);
    assert.deepEqual(JSON.parse(dry.stdout), {
      created: 1,
      skipped: 0,
      failed: 1,
      errors: [{ line: 2, param: 'email', message: 'Invalid email: must be a string.' }],
    });
    const human = await cli('--account', acct.id, '--mode', 'test', mixed);
    assert.equal(human.code, 1);
    assert.match(
      human.stdout,
      /Created 1, skipped 0 \(imported before\), failed 1\.\n {2}line 2 \(email\): Invalid email/,
    );
    const { n } = await fresh.db.kysely
      .selectFrom('customers')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(n), 3);
  });

  test('bad arguments and files: exit 2 and one line on stderr, nothing written', async () => {
    const good = write('ok.csv', 'email\r\nx@example.com\r\n');
    for (const args of [
      ['--mode', 'test', good],
      ['--account', acct.id, good],
      ['--account', acct.id, '--mode', 'staging', good],
      ['--account', 'acct_nope', '--mode', 'test', good],
      ['--account', acct.id, '--mode', 'test'],
      ['--account', acct.id, '--mode', 'test', join(dir, 'missing.csv')],
      ['--account', acct.id, '--mode', 'test', write('data.txt', 'email\n')],
      ['--account', acct.id, '--mode', 'test', good, '--format', 'xml'],
      ['--account', acct.id, '--mode', 'test', write('extra.csv', 'email,password\r\nx@y.z,1\r\n')],
    ]) {
      const res = await cli(...args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stdout} ${res.stderr}`);
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
      assert.match(res.stderr, /^lunipay: /);
    }
    const rows = await fresh.db.kysely
      .selectFrom('customers')
      .select('email')
      .where('email', '=', 'x@example.com')
      .execute();
    assert.equal(rows.length, 0);
  });
});
