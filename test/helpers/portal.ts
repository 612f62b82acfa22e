import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import qs from 'qs';
import { startWorker, type Worker } from '../../src/jobs/worker.js';
import { jsonLogger } from '../../src/log.js';
import { createMailTransport } from '../../src/mail/transport.js';
import { portalComposers } from '../../src/portal/mail.js';
import { createStripeGateway } from '../../src/stripe/gateway.js';
import { writeEventAndDeliveries } from '../../src/webhooks/deliveries.enqueue.js';
import type { Harness } from './harness.js';

export interface Page {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  location: string | undefined;
}

/**
 * A browser for `app.inject`: it keeps cookies as a browser would (Path=/portal, Max-Age=0
 * deletes) and reads the CSRF token of the last page's form.
 */
export class Browser {
  readonly jar = new Map<string, string>();
  lastCsrf: string | undefined;

  constructor(
    private readonly app: FastifyInstance,
    private readonly origin: string,
  ) {}

  private keep(setCookie: string | string[] | undefined): void {
    for (const line of setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (/Max-Age=0/i.test(line) || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  private cookieHeader(): Record<string, string> {
    if (this.jar.size === 0) return {};
    return { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') };
  }

  private async send(
    method: 'GET' | 'POST',
    url: string,
    payload?: string,
    headers: Record<string, string> = {},
  ) {
    const res = await this.app.inject({
      method,
      url,
      payload,
      headers: { ...this.cookieHeader(), ...headers },
    });
    this.keep(res.headers['set-cookie']);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(res.body);
    if (csrf) this.lastCsrf = csrf[1];
    return {
      status: res.statusCode,
      body: res.body,
      headers: res.headers as Page['headers'],
      location: res.headers.location as string | undefined,
    };
  }

  get(url: string): Promise<Page> {
    return this.send('GET', url);
  }

  /** Posts a form with the last page's CSRF token (unless `csrf` says otherwise), from our origin. */
  post(
    url: string,
    form: Record<string, string> = {},
    options: { csrf?: string | null; origin?: string | null } = {},
  ): Promise<Page> {
    const csrf = options.csrf === undefined ? this.lastCsrf : options.csrf;
    const body = qs.stringify(csrf === null ? form : { _csrf: csrf, ...form });
    const origin = options.origin === undefined ? this.origin : options.origin;
    return this.send('POST', url, body, {
      'content-type': 'application/x-www-form-urlencoded',
      ...(origin === null ? {} : { origin }),
    });
  }
}

/** The worker with its mail lane, sending to `smtpUrl` as `npm start`'s does; `logs()` is what it wrote. */
export function startMailWorker(h: Harness, smtpUrl: string): Worker & { logs(): string } {
  const config = { ...h.config.mail, smtpUrl };
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  const worker = startWorker({
    db: h.db,
    gateway: createStripeGateway(h.config.stripe),
    log: jsonLogger('info', stream),
    eventHook: writeEventAndDeliveries,
    mail: {
      transport: createMailTransport(config),
      composers: portalComposers({ publicUrl: h.config.publicUrl, from: config.from }),
    },
    settings: { concurrency: 1, pollMs: 25, backoff: { baseMs: 50, maxMs: 200 } },
  });
  return { id: worker.id, stop: () => worker.stop(), logs: () => text };
}
