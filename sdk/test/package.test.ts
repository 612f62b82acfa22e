/**
 * The package as a user gets it: zero runtime dependencies, an ESM build with types behind
 * "exports", no Node-only code (it bundles for the browser and runs in a realm that has only the
 * web platform's globals).
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { build } from 'esbuild';
import { LISTED, MISSING_ID, startCanned } from './canned.js';
import type { FaultyServer } from './fault-server.js';
import { KEY } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));

let server: FaultyServer;
before(async () => {
  server = await startCanned();
});
after(() => server.close());

describe('the package', () => {
  it('has zero runtime dependencies', () => {
    assert.equal(pkg.dependencies, undefined);
    assert.equal(pkg.peerDependencies, undefined);
    assert.equal(pkg.optionalDependencies, undefined);
  });

  it('is ESM with "exports" and "types" pointing at the tsc build, which `prepare` makes', async () => {
    assert.equal(pkg.name, '@lunipay/sdk');
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.types, './dist/index.d.ts');
    assert.deepEqual(pkg.exports['.'], {
      types: './dist/index.d.ts',
      import: './dist/index.js',
      default: './dist/index.js',
    });
    assert.match(pkg.scripts.prepare, /build/);
    assert.match(pkg.scripts.build, /^tsc /);
    const dist = await readdir(path.join(root, 'dist'));
    for (const f of [
      'index.js',
      'index.d.ts',
      'client.js',
      'http.js',
      'pagination.js',
      'errors.js',
      'types.d.ts',
    ]) {
      assert.ok(dist.includes(f), `dist/${f}`);
    }
    // types.d.ts imports the generated types, so they must ship too or every public type is `any`.
    assert.ok((await readdir(path.join(root, 'dist/generated'))).includes('openapi.d.ts'));
  });

  it('resolves by its own name through "exports" (what users import)', async () => {
    const sdk = await import('@lunipay/sdk');
    for (const name of [
      'LuniPay',
      'LuniPayError',
      'InvalidRequestError',
      'AuthenticationError',
      'IdempotencyError',
      'RateLimitError',
      'APIError',
      'ConnectionError',
      'TimeoutError',
      'ListPromise',
    ]) {
      assert.equal(typeof (sdk as Record<string, unknown>)[name], 'function', name);
    }
    assert.equal(sdk.default, sdk.LuniPay);
  });

  it('has no Node-only imports or globals in the shipped code', async () => {
    for (const dir of ['src', 'dist']) {
      for (const file of await readdir(path.join(root, dir))) {
        if (!/\.(ts|js)$/.test(file) || file.endsWith('.d.ts')) continue;
        const code = (await readFile(path.join(root, dir, file), 'utf8'))
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/\/\/.*$/gm, '');
        assert.doesNotMatch(
          code,
          /from ['"]node:|import\(['"]node:|require\(/,
          `${dir}/${file} imports Node`,
        );
        assert.doesNotMatch(
          code,
          /\b(process|Buffer|__dirname|setImmediate)\b/,
          `${dir}/${file} uses a Node global`,
        );
        assert.doesNotMatch(code, /from ['"](?!\.)/, `${dir}/${file} imports a package`);
      }
    }
  });

  it('bundles for the browser and works in a realm with only web globals', async () => {
    const bundle = await build({
      entryPoints: [path.join(root, 'dist/index.js')],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'LuniPaySDK',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    const code = bundle.outputFiles[0]?.text ?? '';
    const browserish = vm.createContext({
      fetch,
      AbortController,
      AbortSignal,
      URL,
      URLSearchParams,
      setTimeout,
      clearTimeout,
      crypto: globalThis.crypto,
      TextEncoder,
      TextDecoder,
      atob,
      btoa,
      DOMException,
      console,
    });
    vm.runInContext(code, browserish);
    const run = vm.runInContext(
      `(async (baseUrl, key, missing) => {
        const lunipay = new LuniPaySDK.LuniPay(key, { baseUrl });
        const created = await lunipay.customers.create({ email: 'browser@example.com' });
        const ids = [];
        for await (const c of lunipay.customers.list({ limit: 2 })) ids.push(c.id);
        let error;
        try { await lunipay.customers.retrieve(missing); } catch (e) { error = e; }
        const secret = 'whsec_' + btoa('k'.repeat(32));
        const headers = await LuniPaySDK.LuniPay.webhooks.generateTestHeaders({ payload: { id: 'evt_1' }, secret });
        const event = await LuniPaySDK.LuniPay.webhooks.verify('{"id":"evt_1"}', headers, secret);
        return { created, ids, errorName: error.name, isBase: error instanceof LuniPaySDK.LuniPayError, code: error.code, verified: event.id };
      })`,
      browserish,
    ) as (
      baseUrl: string,
      key: string,
      missing: string,
    ) => Promise<{
      created: { email: string; id: string };
      ids: string[];
      errorName: string;
      isBase: boolean;
      code: string;
      verified: string;
    }>;
    server.reset();
    const result = await run(server.url, KEY, MISSING_ID);
    assert.equal(result.created.email, 'browser@example.com');
    // Both pages: the iteration followed the first page's has_more.
    assert.deepEqual([...result.ids], LISTED);
    assert.equal(server.attempts.filter((a) => a.method === 'GET' && a.path === '/v1/customers').length, 2);
    assert.equal(result.errorName, 'InvalidRequestError');
    assert.equal(result.isBase, true);
    assert.equal(result.code, 'resource_missing');
    assert.equal(result.verified, 'evt_1', 'webhook verification runs on Web Crypto alone');
    assert.match(server.attempts[0]?.idempotencyKey ?? '', /^[0-9a-f-]{36}$/);
  });

  it('falls back to getRandomValues when crypto.randomUUID is missing (browsers on plain http)', async () => {
    const { uuid4 } = await import('../src/http.js');
    const original = globalThis.crypto.randomUUID;
    try {
      Object.defineProperty(globalThis.crypto, 'randomUUID', { value: undefined, configurable: true });
      const ids = new Set(Array.from({ length: 100 }, () => uuid4()));
      assert.equal(ids.size, 100);
      for (const id of ids)
        assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } finally {
      Object.defineProperty(globalThis.crypto, 'randomUUID', { value: original, configurable: true });
    }
  });
});
