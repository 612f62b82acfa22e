import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DialectName, forEachDatabase, useDatabase } from './helpers/harness.js';
import { type ServerProcess, startServer } from './helpers/processes.js';

/**
 * Idempotency against real server processes: concurrent duplicates spread over two processes
 * sharing PostgreSQL (one process on SQLite), and a process killed with SIGKILL in the middle of
 * a stream of idempotent creates, then restarted and retried.
 */

interface Answer {
  status: number;
  text: string;
  replayed: boolean;
}

async function create(server: ServerProcess, apiKey: string, key: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${server.url}/v1/customers`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': key,
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    text: await res.text(),
    replayed: res.headers.get('idempotent-replayed') === 'true',
  };
}

forEachDatabase('Idempotency across server processes', (dialect: DialectName) => {
  const { fresh, acct } = useDatabase(dialect, 'Process shop');

  const customersByEmail = async (pattern: string) =>
    fresh.db.kysely.selectFrom('customers').select(['id', 'email']).where('email', 'like', pattern).execute();

  const processes = dialect === 'postgres' ? 2 : 1;
  test(`50 identical requests at once against ${processes} process(es): one customer`, async (t) => {
    const servers = await Promise.all(
      Array.from({ length: processes }, () => startServer({ LUNIPAY_DATABASE_URL: fresh.url })),
    );
    try {
      for (let round = 0; round < 3; round++) {
        const key = `fifty-${round}`;
        const body = { email: `fifty-${round}@procs.test`, first_name: 'Once' };
        const answers = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            create(servers[i % processes] as ServerProcess, acct.test, key, body),
          ),
        );
        const ok = answers.filter((a) => a.status === 200);
        const busy = answers.filter((a) => a.status === 409);
        assert.equal(ok.length + busy.length, 50, answers.map((a) => a.status).join(','));
        for (const a of busy) assert.equal(JSON.parse(a.text).error.code, 'idempotency_key_in_use');
        assert.equal(new Set(ok.map((a) => a.text)).size, 1, 'every 200 has the same body');
        assert.equal(ok.filter((a) => !a.replayed).length, 1, 'exactly one execution');
        const rows = await customersByEmail(body.email);
        assert.deepEqual(
          rows.map((r) => r.id),
          [JSON.parse(ok[0]?.text ?? '{}').id],
        );
        t.diagnostic(
          `round ${round}: 1 executed, ${ok.length - 1} replayed, ${busy.length} answered 409; customers: ${rows.length}`,
        );
      }
    } finally {
      await Promise.all(servers.map((s) => s.kill()));
    }
  });

  test('SIGKILL mid-flight, restart, retry: each key makes exactly one customer', async (t) => {
    const LEASE_MS = 2500;
    const env = { LUNIPAY_DATABASE_URL: fresh.url, LUNIPAY_IDEMPOTENCY_LEASE_MS: String(LEASE_MS) };
    const tag = randomBytes(4).toString('hex');
    const requestFor = (i: number) => ({
      key: `crash-${tag}-${i}`,
      body: { email: `c${i}-${tag}@crash.test` },
    });
    type Req = ReturnType<typeof requestFor>;

    let server = await startServer(env);
    const sent: Req[] = [];
    const acknowledged = new Map<string, string>();
    const unanswered: Req[] = [];
    let stopping = false;
    let next = 0;
    const worker = async () => {
      while (!stopping) {
        const req = requestFor(next++);
        sent.push(req);
        let answer: Answer;
        try {
          answer = await create(server, acct.test, req.key, req.body);
        } catch {
          unanswered.push(req); // the connection died with the process
          continue;
        }
        if (answer.status !== 200) stopping = true;
        assert.equal(answer.status, 200, answer.text);
        acknowledged.set(req.key, JSON.parse(answer.text).id);
      }
    };
    const killer = async () => {
      while (acknowledged.size < 60 && !stopping) await sleep(2);
      stopping = true;
      await server.kill('SIGKILL');
    };
    await Promise.all([killer(), ...Array.from({ length: 24 }, worker)]);
    const killedWith = await server.exited;
    assert.equal(killedWith.signal, 'SIGKILL');
    assert.ok(unanswered.length > 0, 'requests were in flight when the process died');

    const inFlightAtCrash = await fresh.db.kysely
      .selectFrom('idempotency_keys')
      .select('key')
      .where('key', 'like', `crash-${tag}-%`)
      .where('state', '=', 'in_flight')
      .execute();
    const restartStarted = Date.now();
    server = await startServer(env);
    const restartMs = Date.now() - restartStarted;
    let replayed = 0;
    let waitedOut = 0;
    const retried = new Map<string, string>();
    try {
      await Promise.all(
        unanswered.map(async (req) => {
          // A key whose lease died with the process answers 409 until the lease runs out.
          for (let deadline = Date.now() + 5 * LEASE_MS; ; ) {
            const answer = await create(server, acct.test, req.key, req.body);
            if (answer.status === 409 && Date.now() < deadline) {
              waitedOut++;
              await sleep(100);
              continue;
            }
            assert.equal(answer.status, 200, answer.text);
            if (answer.replayed) replayed++;
            retried.set(req.key, JSON.parse(answer.text).id);
            return;
          }
        }),
      );
      // Acknowledged requests replay too, with the customer they acknowledged.
      for (const req of sent.filter((r) => acknowledged.has(r.key)).slice(0, 5)) {
        const answer = await create(server, acct.test, req.key, req.body);
        assert.ok(answer.replayed);
        assert.equal(JSON.parse(answer.text).id, acknowledged.get(req.key));
      }
    } finally {
      await server.kill('SIGTERM');
    }
    assert.equal((await server.exited).code, 0, 'SIGTERM shuts down cleanly');

    const rows = await customersByEmail(`%-${tag}@crash.test`);
    const byEmail = new Map<string, string[]>();
    for (const row of rows) byEmail.set(row.email, [...(byEmail.get(row.email) ?? []), row.id]);
    const duplicates = rows.length - byEmail.size;
    const found = sent.filter((req) => byEmail.has(req.body.email)).length;
    t.diagnostic(
      `${dialect}: sent=${sent.length} acknowledged=${acknowledged.size} retried=${unanswered.length} ` +
        `(replayed ${replayed}, executed ${unanswered.length - replayed}, 409s waited out ${waitedOut}) ` +
        `found=${found} duplicates=${duplicates}; left in flight by the crash ${inFlightAtCrash.length}, ` +
        `restart took ${restartMs} ms`,
    );
    for (const req of sent) {
      const ids = byEmail.get(req.body.email) ?? [];
      assert.equal(ids.length, 1, `${req.key}: ${ids.length} customers`);
      const answered = acknowledged.get(req.key) ?? retried.get(req.key);
      assert.equal(ids[0], answered, `${req.key}: the answer names the stored customer`);
    }
    assert.equal(rows.length, sent.length, 'no customer without a request');
    assert.equal(duplicates, 0);
    const leftover = await fresh.db.kysely
      .selectFrom('idempotency_keys')
      .select('key')
      .where('key', 'like', `crash-${tag}-%`)
      .where('state', '<>', 'done')
      .execute();
    assert.equal(leftover.length, 0, 'every key ends done');
  });
});
