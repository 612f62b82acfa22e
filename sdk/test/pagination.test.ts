import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ListPromise } from '../src/index.js';

/**
 * ListPromise on its own. Walking the real server's pages (cursors, filters, the requests made)
 * is tested against it: test/sdk/pagination.system.test.ts in the repository.
 */
describe('ListPromise', () => {
  it('stops if a page says has_more but is empty (no infinite loop)', async () => {
    let calls = 0;
    const list = new ListPromise<{ id: string }>(async () => {
      calls++;
      return { object: 'list', url: '/v1/x', has_more: true, data: [] };
    }, {});
    for await (const _ of list) assert.fail('no items');
    assert.equal(calls, 1);
  });
});
