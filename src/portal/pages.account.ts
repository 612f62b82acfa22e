import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { confirmEmailChange, EDITABLE, fieldError, formValue, saveDetails } from './account.service.js';
import { loginPath, resolveBrowser, type Signed, signOut, signOutEverywhere } from './browser.service.js';
import type { PagesDeps } from './render.js';
import { COOKIES, cookieOptions, messagePage, page } from './render.js';
import * as signIn from './signin.service.js';
import { en as t } from './texts.js';

const signedOf = new WeakMap<FastifyRequest, Signed>();
const signed = (request: FastifyRequest) => signedOf.get(request) as Signed;

/** The pages of a signed-in customer: their details, the forms that change them, signing out. */
export function accountPages(app: FastifyInstance, deps: PagesDeps): void {
  const { db } = deps;
  const cookie = () => cookieOptions(deps.secure);
  const chrome = (s: Signed) => ({ merchant: s.merchant, testMode: s.session.mode === 'test' });

  /** Every page here needs a live session: otherwise a page that says so, and where to sign in. */
  const requireSession = async (request: FastifyRequest, reply: FastifyReply) => {
    const { signed: found, login } = await resolveBrowser(db, request.cookies[COOKIES.session]);
    if (found) {
      signedOf.set(request, found);
      return;
    }
    if (request.cookies[COOKIES.session] !== undefined) reply.clearCookie(COOKIES.session, cookie());
    return messagePage(reply, 401, t.messages.sessionEndedTitle, t.messages.sessionEnded, {
      link: login ? { href: login, text: t.messages.signInAgain } : undefined,
    });
  };
  const opts = { preHandler: requireSession };

  app.get<{ Querystring: { saved?: string; changed?: string } }>('/portal', opts, async (request, reply) => {
    const s = signed(request);
    const c = s.customer;
    // Never notes, metadata or the Stripe id: only what the customer keeps themselves.
    const details = [
      { label: t.fields.email, value: c.email },
      { label: t.fields.first_name, value: c.first_name },
      { label: t.fields.last_name, value: c.last_name },
      { label: t.fields.phone, value: c.phone },
      { label: t.fields.company_name, value: c.company_name },
    ];
    const query = request.query ?? {};
    const notice =
      query.saved !== undefined
        ? t.overview.saved
        : query.changed === 'email'
          ? t.overview.emailChanged
          : undefined;
    return page(reply, 'overview', 200, {
      title: t.overview.title,
      details,
      notice,
      returnUrl: s.session.return_url,
      ...chrome(s),
    });
  });

  const values = (s: Signed) =>
    Object.fromEntries(EDITABLE.map((f) => [f, (s.customer[f] as string | null) ?? '']));

  app.get('/portal/edit', opts, async (request, reply) => {
    const s = signed(request);
    return page(reply, 'edit', 200, { title: t.edit.title, values: values(s), ...chrome(s) });
  });

  app.post('/portal/edit', opts, async (request, reply) => {
    const s = signed(request);
    const result = await saveDetails(deps.customers, t, s, request.body, request.id);
    if (Object.keys(result.errors).length > 0) {
      return page(reply, 'edit', 400, {
        title: t.edit.title,
        errors: result.errors,
        values: result.values,
        ...chrome(s),
      });
    }
    return reply.redirect('/portal?saved', 303);
  });

  app.get('/portal/email', opts, async (request, reply) => {
    const s = signed(request);
    return page(reply, 'email', 200, { title: t.email.title, ...chrome(s) });
  });

  app.post('/portal/email', opts, async (request, reply) => {
    const s = signed(request);
    const email = formValue(request.body, 'email').trim();
    const error =
      fieldError(t, 'email', email) ??
      (email.toLowerCase() === s.customer.email.toLowerCase() ? t.fieldErrors.sameEmail : undefined);
    if (error)
      return page(reply, 'email', 400, {
        title: t.email.title,
        errors: { email: error },
        values: { email },
        ...chrome(s),
      });
    await signIn.requestSignIn(db, {
      owner: { accountId: s.session.account_id, mode: s.session.mode },
      email,
      clientIp: request.ip,
      device: request.cookies[COOKIES.session] as string,
      purpose: 'email_change',
      change: { sessionId: s.session.id, customerId: s.customer.id },
    });
    return reply.redirect('/portal/email/check', 303);
  });

  const emailCheck = (reply: FastifyReply, s: Signed, status: number, errors = {}) =>
    page(reply, 'check', status, {
      title: t.email.checkTitle,
      heading: t.email.checkTitle,
      body: t.email.checkBody,
      submit: t.email.checkSubmit,
      action: '/portal/email/code',
      again: '/portal/email',
      errors,
      ...chrome(s),
    });

  app.get('/portal/email/check', opts, async (request, reply) => emailCheck(reply, signed(request), 200));

  app.post('/portal/email/code', opts, async (request, reply) => {
    const s = signed(request);
    const code = formValue(request.body, 'code').replace(/\s/g, '');
    if (!/^\d{6}$/.test(code)) return emailCheck(reply, s, 400, { code: t.fieldErrors.code });
    const owner = { accountId: s.session.account_id, mode: s.session.mode };
    const device = request.cookies[COOKIES.session] as string;
    const row = await signIn.checkCode(db, device, 'email_change', owner, code);
    if (!row || row.session_id !== s.session.id)
      return emailCheck(reply, s, 400, { code: t.fieldErrors.wrongCode });
    const done = await confirmEmailChange(deps.customers, row, request.id, true);
    if (done.kind === 'gone') return emailCheck(reply, s, 400, { code: t.fieldErrors.wrongCode });
    if (done.sid) reply.setCookie(COOKIES.session, done.sid, cookie());
    return reply.redirect('/portal?changed=email', 303);
  });

  const signedOut = (reply: FastifyReply, s: Signed) =>
    messagePage(
      reply.clearCookie(COOKIES.session, cookie()),
      200,
      t.messages.signedOutTitle,
      t.messages.signedOut,
      {
        link: { href: signInPath(s), text: t.messages.signInAgain },
        ...chrome(s),
      },
    );
  const signInPath = (s: Signed) => loginPath(s.session.account_id, s.session.mode);

  app.post('/portal/logout', opts, async (request, reply) => {
    const s = signed(request);
    await signOut(db, s);
    return signedOut(reply, s);
  });

  app.post('/portal/logout-all', opts, async (request, reply) => {
    const s = signed(request);
    await signOutEverywhere(db, s);
    return signedOut(reply, s);
  });
}
