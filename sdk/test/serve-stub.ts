/**
 * Serves the contract stub until killed, printing `{"url":…,"key":…}` on one line: a target for
 * trying the live suite or the examples without the real server.
 *
 *   npx tsx test/serve-stub.ts            # → {"url":"http://127.0.0.1:PORT","key":"sk_test_…"}
 */
import { freshKey, startStub } from './stub-server.js';

const key = freshKey();
// Like a real server, only the printed key is accepted.
const { server } = await startStub({ knownKeys: [key] });
console.log(JSON.stringify({ url: server.url, key }));
