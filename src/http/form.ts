import { AppError } from '../errors.js';

/** Bounds on what one form body or query string may hold. */
const MAX_PAIRS = 256;
const MAX_DEPTH = 4;
const NAME = /^([^[\]]*)((?:\[[^[\]]*\])*)$/;
/** A pair with no brackets, escapes or `+`, and one `=` at most after the name: taken as it is. */
const PLAIN = /^[^[\]%+=]+=[^[\]%+=]*$/;

type Node = { [key: string]: unknown };

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new AppError('parameter_invalid', 'The parameters are not valid URL encoding.');
  }
}

/** `metadata[a][b]` → ['metadata', 'a', 'b']; a name that is not of that shape is kept whole. */
function pathOf(name: string): string[] {
  const match = NAME.exec(name);
  if (!match || match[1] === '') return [name];
  const rest = [...(match[2] ?? '').matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] as string);
  return [match[1] as string, ...rest];
}

const bracket = (path: string[]) =>
  (path[0] ?? '') +
  path
    .slice(1)
    .map((p) => `[${p}]`)
    .join('');

/**
 * Parses `application/x-www-form-urlencoded` text (bodies and query strings) with Stripe's
 * bracket notation. Nothing is reinterpreted or dropped, so validation sees exactly what was
 * sent: objects have no prototype (a field named `__proto__` or `toString` is just a name),
 * `[]` is an empty key rather than an array, and a name given twice becomes a list of its
 * values, which no field accepts.
 */
export function parseForm(text: string): Record<string, unknown> {
  const root: Node = Object.create(null);
  if (text === '') return root;
  const pairs = text.split('&').filter((pair) => pair !== '');
  if (pairs.length > MAX_PAIRS) {
    throw new AppError('parameter_invalid', `At most ${MAX_PAIRS} parameters may be sent.`);
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    // The common pair (`limit=10`): a plain name and value, nothing to decode or split.
    const plain = eq > 0 && PLAIN.test(pair);
    const path = plain ? [pair.slice(0, eq)] : pathOf(decode(eq === -1 ? pair : pair.slice(0, eq)));
    const value = plain ? pair.slice(eq + 1) : decode(eq === -1 ? '' : pair.slice(eq + 1));
    if (path.length > MAX_DEPTH) {
      throw new AppError('parameter_invalid', `Invalid ${bracket(path)}: nested too deeply.`, bracket(path));
    }
    let node = root;
    for (const [i, key] of path.entries()) {
      const existing = node[key];
      if (i === path.length - 1) {
        if (existing !== undefined && typeof existing === 'object' && !Array.isArray(existing)) {
          throw new AppError(
            'parameter_invalid',
            `Invalid ${bracket(path)}: given both as a value and as an object.`,
            bracket(path),
          );
        }
        node[key] =
          existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
      } else if (existing === undefined) {
        node = node[key] = Object.create(null) as Node;
      } else if (typeof existing === 'object' && !Array.isArray(existing)) {
        node = existing as Node;
      } else {
        const at = bracket(path.slice(0, i + 1));
        throw new AppError('parameter_invalid', `Invalid ${at}: given both as a value and as an object.`, at);
      }
    }
  }
  return root;
}

/** Where a query string's parse error waits for the route's hooks, which run after auth. */
export const QUERY_ERROR = Symbol('query parse error');

/**
 * The router's query string parser. It must not throw: the route and the key are checked
 * before parameters, so a problem is kept aside and raised by the route's preValidation hook.
 */
export function parseQuery(text: string): Record<string | symbol, unknown> {
  try {
    return parseForm(text);
  } catch (error) {
    const holder: Record<string | symbol, unknown> = Object.create(null);
    holder[QUERY_ERROR] = error;
    return holder;
  }
}
