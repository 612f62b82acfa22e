import type {} from '@fastify/cookie';
import type {} from '@fastify/csrf-protection';
import type {} from '@fastify/view';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CustomerDeps } from '../customers/customers.service.js';
import type { Db } from '../db/index.js';
import type { SecretBox } from '../secret-key.js';
import { newToken } from './secrets.js';
import { en } from './texts.js';

export interface PagesDeps {
  db: Db;
  /** the customers write path, with the API's own hooks (events, the Stripe outbox) */
  customers: CustomerDeps;
  /** LUNIPAY_PUBLIC_URL's origin: the only origin a form may be posted from */
  publicUrl: string;
  secretBox: SecretBox;
  /** whether cookies are `Secure`: the public URL is https */
  secure: boolean;
}

export const COOKIES = {
  session: 'lunipay_portal',
  device: 'lunipay_device',
  choice: 'lunipay_choice',
  csrf: 'lunipay_csrf',
};

/** Host-only (no Domain), `/portal` only, out of scripts' reach, and never sent on cross-site POSTs. */
export function cookieOptions(secure: boolean, maxAge?: number) {
  return {
    path: '/portal',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure,
    ...(maxAge === undefined ? {} : { maxAge }),
  };
}

/**
 * What a CSRF token is bound to: the browser session, or before sign-in the browser's device
 * cookie (made on its first request). A token of another browser or session does not verify.
 */
export function binding(request: FastifyRequest): string {
  return request.cookies[COOKIES.session] ?? request.cookies[COOKIES.device] ?? '';
}

/** Gives a browser its device cookie on its first portal request, before any form is made. */
export function ensureDevice(request: FastifyRequest, reply: FastifyReply, secure: boolean): string {
  const existing = request.cookies[COOKIES.device];
  if (existing !== undefined && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const device = newToken();
  request.cookies[COOKIES.device] = device;
  reply.setCookie(COOKIES.device, device, cookieOptions(secure, 30 * 24 * 3600));
  return device;
}

export interface PageData {
  title: string;
  merchant?: string;
  testMode?: boolean;
  errors?: Record<string, string>;
  values?: Record<string, string>;
  [key: string]: unknown;
}

/** A page from its template, with the catalogue and a CSRF token for its forms. */
export async function page(
  reply: FastifyReply,
  view: string,
  status: number,
  data: PageData,
): Promise<FastifyReply> {
  const csrf = reply.generateCsrf({ userInfo: binding(reply.request) });
  const html = await reply.viewAsync(`./${view}`, { t: en, csrf, errors: {}, values: {}, ...data });
  return reply.code(status).type('text/html; charset=utf-8').send(html);
}

/** A page that only says something, with perhaps one link onward. */
export function messagePage(
  reply: FastifyReply,
  status: number,
  heading: string,
  body: string,
  extra: { link?: { href: string; text: string }; merchant?: string; testMode?: boolean } = {},
): Promise<FastifyReply> {
  return page(reply, 'message', status, { title: heading, heading, body, ...extra });
}
