import type { Template } from './wrk.js';

/**
 * The benchmark's scenarios, as request templates: the requests the service's performance
 * targets (`targets.ts`) are set on, and the lists and writes around them. Every request
 * carries the API key; writes send JSON. {id} is a random customer from a sample spread over
 * the whole table, {uniq} a value no other request of the run uses (new emails, new
 * Idempotency-Keys, a phone number that really changes, so an update is never a no-op).
 */

export interface Scenario {
  name: string;
  description: string;
  templates: Template[];
  /** Measured with one enabled webhook endpoint, pointing at the bench's receiver. */
  webhook?: boolean;
}

export interface ScenarioContext {
  secret: string;
  /** A customer 20 places from the oldest. */
  deepCursor: string;
}

/** The same fields a seeded customer has, so a created customer's JSON is the baseline's size. */
const createBody =
  '{"email":"bench.{uniq}@example.com","first_name":"Ada","last_name":"Lovelace","phone":"+18765551234",' +
  '"company_name":"Analytical Engines Ltd.","notes":"VIP — priority support","metadata":{"internal_id":"ACCT-42"}}';
const updateBody = '{"phone":"+1 {uniq}"}';

export function scenarios(ctx: ScenarioContext): Scenario[] {
  const auth = { Authorization: `Bearer ${ctx.secret}` };
  const json = { ...auth, 'Content-Type': 'application/json' };
  const keyed = { ...json, 'Idempotency-Key': '{uniq}' };
  const retrieve: Template = { weight: 1, method: 'GET', path: '/v1/customers/{id}', headers: auth };
  const list10: Template = { weight: 1, method: 'GET', path: '/v1/customers?limit=10', headers: auth };
  const create: Template = {
    weight: 1,
    method: 'POST',
    path: '/v1/customers',
    headers: json,
    body: createBody,
  };
  const update: Template = {
    weight: 1,
    method: 'PATCH',
    path: '/v1/customers/{id}',
    headers: json,
    body: updateBody,
  };
  return [
    { name: 'retrieve', description: 'GET /v1/customers/:id, random seeded customer', templates: [retrieve] },
    { name: 'list_first_10', description: 'GET /v1/customers?limit=10', templates: [list10] },
    {
      name: 'list_first_100',
      description: 'GET /v1/customers?limit=100',
      templates: [{ ...list10, path: '/v1/customers?limit=100' }],
    },
    {
      name: 'list_deep_10',
      description: 'GET /v1/customers?limit=10&starting_after=<20th oldest>',
      templates: [{ ...list10, path: `/v1/customers?limit=10&starting_after=${ctx.deepCursor}` }],
    },
    {
      name: 'update',
      description: 'PATCH /v1/customers/:id, a new phone each time, no Idempotency-Key',
      templates: [update],
    },
    { name: 'create', description: 'POST /v1/customers, no Idempotency-Key', templates: [create] },
    {
      name: 'update_webhook',
      description: 'as update, with one enabled webhook endpoint (customer.*) on a loopback receiver',
      templates: [update],
      webhook: true,
    },
    {
      name: 'create_webhook',
      description: 'as create, with one enabled webhook endpoint (customer.*) on a loopback receiver',
      templates: [create],
      webhook: true,
    },
    {
      name: 'create_idempotent',
      description: 'POST /v1/customers with a unique Idempotency-Key',
      templates: [{ ...create, headers: keyed }],
    },
    {
      name: 'mixed',
      description:
        '80% reads (70 retrieve, 10 list limit=10), 20% writes (10 create, 10 update), writes with Idempotency-Key',
      templates: [
        { ...retrieve, weight: 70 },
        { ...list10, weight: 10 },
        { ...create, weight: 10, headers: keyed },
        { ...update, weight: 10, headers: keyed },
      ],
    },
  ];
}

/** The baseline is driven exactly as `retrieve` is (random id, same headers): same wrk cost per request. */
export function baselineTemplates(ctx: ScenarioContext): Template[] {
  return scenarios(ctx)[0]?.templates ?? [];
}

const fill = (text: string, id: string, uniq: string) =>
  text.replaceAll('{id}', id).replaceAll('{uniq}', uniq);

/**
 * Sends each template once (outside the measurement) and insists on a 2xx: wrk counts only
 * statuses of 400 and up as errors, so this is where anything else would show.
 */
export async function preflight(
  url: string,
  scenario: Scenario,
  ids: string[],
  tag: string,
): Promise<{ status: number; bytes: number }[]> {
  const out: { status: number; bytes: number }[] = [];
  for (const [i, t] of scenario.templates.entries()) {
    const id = ids[i % ids.length] ?? '';
    const uniq = `${tag}-preflight-${i}`;
    const headers = Object.fromEntries(Object.entries(t.headers).map(([k, v]) => [k, fill(v, id, uniq)]));
    const response = await fetch(url + fill(t.path, id, uniq), {
      method: t.method,
      headers,
      body: t.body === undefined ? undefined : fill(t.body, id, uniq),
    });
    const text = await response.text();
    if (response.status < 200 || response.status > 299) {
      throw new Error(
        `${scenario.name}: ${t.method} ${t.path} answered ${response.status}: ${text.slice(0, 300)}`,
      );
    }
    out.push({ status: response.status, bytes: Buffer.byteLength(text) });
  }
  return out;
}
