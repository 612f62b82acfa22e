import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HELD_DONE, HeldWrites } from './held-writes.js';

test('held inserts go in front of the statement that takes them, their placeholders after its own', () => {
  const held = new HeldWrites();
  held.hold('insert into "a" ("x", "y") values ($1, $2), ($3, $4)', [1, 2, 3, 4]);
  held.hold('insert into "b" ("z") values ($1)', ['z']);
  const query = held.take({
    sql: 'with counter as (select $1::int as n) select n from counter',
    parameters: [9],
  });
  assert.equal(
    query.sql,
    'with held_0 as (insert into "a" ("x", "y") values ($2, $3), ($4, $5)), held_1 as (insert into "b" ("z") values ($6)), counter as (select $1::int as n) select n from counter',
  );
  assert.deepEqual(query.parameters, [9, 1, 2, 3, 4, 'z']);
  assert.ok(held.empty, 'taken once');
  const plain = held.take({ sql: 'select $1', parameters: [1] });
  assert.equal(plain.sql, 'select $1');

  held.hold('insert into "b" ("z") values ($1), ($2), ($3), ($4), ($5), ($6), ($7), ($8), ($9), ($10)', []);
  const own = held.take({ sql: 'select $1, $2', parameters: [1, 2] });
  assert.equal(
    own.sql,
    'with held_0 as (insert into "b" ("z") values ($3), ($4), ($5), ($6), ($7), ($8), ($9), ($10), ($11), ($12)) select $1, $2',
    'two-digit placeholders are renumbered whole',
  );
});

test('a text renumbered before is renumbered for each offset it is taken at, not only the first', () => {
  const insert = 'insert into "a" ("x") values ($1), ($2)';
  const taken = (ownParameters: number) => {
    const held = new HeldWrites();
    held.hold(insert, ['p', 'q']);
    const own = Array.from({ length: ownParameters }, (_, i) => `$${i + 1}`).join(', ');
    return held.take({ sql: `select ${own}`, parameters: Array(ownParameters).fill(0) }).sql;
  };
  for (let round = 0; round < 2; round++) {
    assert.equal(taken(1), 'with held_0 as (insert into "a" ("x") values ($2), ($3)) select $1');
    assert.equal(taken(3), 'with held_0 as (insert into "a" ("x") values ($4), ($5)) select $1, $2, $3');
  }
});

test('a statement that asks for HELD_DONE is guarded by a count of every held insert, or by true when none is held', () => {
  const statement = {
    sql: `with c as (insert into "n" ("v") select $1 where ${HELD_DONE} returning v) select v from c`,
    parameters: [7],
  };
  const held = new HeldWrites();
  held.hold('insert into "a" ("x") values ($1)', ['p']);
  held.hold('insert into "b" ("y") values ($1)', ['q']);
  const query = held.take(statement);
  assert.equal(
    query.sql,
    'with held_0 as (insert into "a" ("x") values ($2) returning 1), held_1 as (insert into "b" ("y") values ($3) returning 1), c as (insert into "n" ("v") select $1 where (select count(*) from held_0) + (select count(*) from held_1) >= 0 returning v) select v from c',
  );
  assert.deepEqual(query.parameters, [7, 'p', 'q']);
  assert.equal(
    new HeldWrites().take(statement).sql,
    'with c as (insert into "n" ("v") select $1 where true returning v) select v from c',
  );
});
