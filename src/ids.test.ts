import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isId, newId, ulid } from './ids.js';

test('ids: well formed and strictly increasing, within a millisecond, across them and backwards clocks', () => {
  const start = Date.now() + 1000;
  const ids: string[] = [];
  // 2,000 milliseconds draw 2,000 fresh random parts: the random pool is refilled several times.
  for (let ms = 0; ms < 2000; ms++) for (let i = 0; i < 3; i++) ids.push(ulid(start + ms));
  for (let i = 0; i < 300; i++) ids.push(ulid(start)); // the clock stepped back
  for (const [i, id] of ids.entries()) {
    assert.ok(isId('cus', `cus_${id}`), id);
    if (i > 0) assert.ok(id > (ids[i - 1] as string), `${id} follows ${ids[i - 1]}`);
  }
  // The random parts of different milliseconds differ (16 base32 digits: 80 bits).
  const randomParts = new Set(ids.filter((_, i) => i % 3 === 0).map((id) => id.slice(10)));
  assert.ok(randomParts.size > 1990, `${randomParts.size} distinct random parts`);
  assert.ok(isId('req', newId('req')));
});
