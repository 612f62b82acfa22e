import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config.js';
import { runCli, type ServerProcess, startServer } from './helpers/processes.js';

/**
 * Slow clients cannot hold connections: over a raw socket, a client that sends nothing, trickles
 * its headers, or stalls or trickles its body is cut off once LUNIPAY_REQUEST_TIMEOUT_MS (1 s
 * here) has passed, while the server keeps answering everyone else; headers over 16 KiB are
 * refused at once. Storage plays no part, so SQLite only.
 */

const TIMEOUT_MS = 1000;
/** The timeout, plus Node's once-a-second check, plus slack for a busy machine. */
const CUT_OFF_WITHIN_MS = TIMEOUT_MS + 1000 + 2000;

let server: ServerProcess;
let key: string;
const path = join(tmpdir(), `lunipay-slow-${process.pid}-${Date.now()}.sqlite`);

before(async () => {
  const env = { LUNIPAY_DATABASE_URL: `sqlite:${path}` };
  const created = await runCli(['accounts', 'create', '--name', 'Slow shop', '--json'], env);
  key = JSON.parse(created.stdout).keys.test;
  server = await startServer({ ...env, LUNIPAY_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) });
});
after(async () => {
  await server?.kill('SIGTERM');
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
});

/** Opens a socket, runs `client` on it, and resolves with what came back and when the server closed it. */
async function slowClient(client: (socket: Socket) => Promise<void>): Promise<{ ms: number; reply: string }> {
  const { port } = new URL(server.url);
  const socket = connect(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  const started = Date.now();
  let reply = '';
  socket.on('data', (chunk) => {
    reply += chunk;
  });
  socket.on('error', () => {});
  const closed = once(socket, 'close');
  client(socket).catch(() => {});
  const outcome = await Promise.race([
    closed.then(() => 'closed'),
    sleep(CUT_OFF_WITHIN_MS + 5000).then(() => 'open'),
  ]);
  socket.destroy();
  assert.equal(outcome, 'closed', `the connection was still open after ${Date.now() - started} ms`);
  return { ms: Date.now() - started, reply };
}

const trickle = async (socket: Socket, text: string, everyMs: number) => {
  for (const char of text) {
    if (socket.destroyed) return;
    socket.write(char);
    await sleep(everyMs);
  }
};

test('slow clients are cut off after the request timeout; everyone else is served meanwhile', async (t) => {
  const auth = `Authorization: Bearer ${key}\r\n`;
  const scenarios: Record<string, (socket: Socket) => Promise<void>> = {
    'sends nothing': async () => {},
    'trickles its headers': (s) =>
      trickle(s, `GET /v1/customers HTTP/1.1\r\nHost: x\r\n${auth}X-Slow: ${'a'.repeat(100)}`, 100),
    'stalls its body': async (s) => {
      s.write(
        `POST /v1/customers HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"em`,
      );
    },
    'trickles its body': async (s) => {
      s.write(
        `POST /v1/customers HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 400\r\n\r\n`,
      );
      await trickle(s, ' '.repeat(400), 100);
    },
  };
  const served: number[] = [];
  let slowDone = false;
  const others = (async () => {
    while (!slowDone) {
      const res = await fetch(`${server.url}/v1/customers?limit=1`, {
        headers: { authorization: `Bearer ${key}` },
      });
      served.push(res.status);
      await sleep(50);
    }
  })();
  const results = await Promise.all(
    Object.entries(scenarios).map(async ([name, client]) => ({ name, ...(await slowClient(client)) })),
  );
  slowDone = true;
  await others;
  for (const { name, ms, reply } of results) {
    assert.ok(ms >= TIMEOUT_MS - 100, `${name}: cut off too early, after ${ms} ms`);
    assert.ok(ms <= CUT_OFF_WITHIN_MS, `${name}: cut off only after ${ms} ms`);
    assert.match(reply, /^HTTP\/1\.1 408 /, `${name}: ${reply}`);
  }
  assert.ok(served.length > 10 && served.every((s) => s === 200), `others were served: ${served.join(',')}`);

  const big = await slowClient(async (s) => {
    s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  });
  assert.match(big.reply, /^HTTP\/1\.1 431 /);
  t.diagnostic(
    `${results.map((r) => `${r.name}: 408 and closed after ${r.ms} ms`).join('; ')}; ` +
      `20 KB of headers: 431 after ${big.ms} ms; ${served.length} other requests served meanwhile, all 200`,
  );
});

test('the request and database query timeouts are configuration, validated', () => {
  assert.equal(loadConfig({}).requestTimeoutMs, 30_000);
  assert.equal(loadConfig({ LUNIPAY_REQUEST_TIMEOUT_MS: '5000' }).requestTimeoutMs, 5000);
  for (const bad of ['0', '999', 'abc', '600001']) {
    assert.throws(() => loadConfig({ LUNIPAY_REQUEST_TIMEOUT_MS: bad }), /LUNIPAY_REQUEST_TIMEOUT_MS/);
  }
  // Exercised against a partitioned PostgreSQL in db-outage.test.ts.
  assert.equal(loadConfig({}).dbQueryTimeoutMs, 10_000);
  assert.equal(loadConfig({ LUNIPAY_DB_QUERY_TIMEOUT_MS: '1500' }).dbQueryTimeoutMs, 1500);
  for (const bad of ['0', '99', '1.5', '600001']) {
    assert.throws(() => loadConfig({ LUNIPAY_DB_QUERY_TIMEOUT_MS: bad }), /LUNIPAY_DB_QUERY_TIMEOUT_MS/);
  }
});
