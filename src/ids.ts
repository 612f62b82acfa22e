import { randomFillSync } from 'node:crypto';

// Crockford base32, as ULIDs use it: no I, L, O or U.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_LEN = 10;
const RANDOM_LEN = 16;

let lastTime = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < TIME_LEN; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

// Random bytes are drawn from the CSPRNG a pool at a time: one call per 256 ids, not per id.
const pool = Buffer.alloc(RANDOM_LEN * 256);
let poolOffset = pool.length;

function freshRandom(): number[] {
  if (poolOffset + RANDOM_LEN > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const digits: number[] = [];
  for (let i = 0; i < RANDOM_LEN; i++) digits.push((pool[poolOffset + i] as number) % 32);
  poolOffset += RANDOM_LEN;
  return digits;
}

/** Adds one to the random part; overflow inside one millisecond borrows the next one. */
function increment(digits: number[]): boolean {
  for (let i = digits.length - 1; i >= 0; i--) {
    const d = digits[i] as number;
    if (d < 31) {
      digits[i] = d + 1;
      return true;
    }
    digits[i] = 0;
  }
  return false;
}

/**
 * A monotonic ULID: within this process a later call always returns a larger string, even
 * within one millisecond or when the clock steps back, so ids sort in creation order and
 * keyset pagination by id is pagination by creation.
 */
export function ulid(now: number = Date.now()): string {
  if (now <= lastTime) {
    if (!increment(lastRandom)) {
      lastTime += 1;
      lastRandom = freshRandom();
    }
  } else {
    lastTime = now;
    lastRandom = freshRandom();
  }
  return encodeTime(lastTime) + lastRandom.map((d) => ALPHABET[d]).join('');
}

export type IdPrefix = 'cus' | 'acct' | 'key' | 'req' | 'job' | 'we' | 'evt' | 'wha' | 'ps' | 'psi';

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}

/** The smallest id with that prefix made at unix millisecond `ms`: every id made earlier sorts below it. */
export function firstIdAt(prefix: IdPrefix, ms: number): string {
  return `${prefix}_${encodeTime(ms)}${'0'.repeat(RANDOM_LEN)}`;
}

// The first character is at most 7: a ULID holds a 48-bit time.
const ID_BODY = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** True when `value` is `prefix_` followed by a well-formed ULID. */
export function isId(prefix: IdPrefix, value: string): boolean {
  return (
    value.length === prefix.length + 27 &&
    value.startsWith(`${prefix}_`) &&
    ID_BODY.test(value.slice(prefix.length + 1))
  );
}
