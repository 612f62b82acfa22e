import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { findAccount } from '../accounts/accounts.store.js';
import type { Mode } from '../db/schema.js';
import { isId } from '../ids.js';
import { confirmEmailChange, fieldError, formValue } from './account.service.js';
import { loginPath, merchantName, openMerchantLink, resolveBrowser } from './browser.service.js';
import type { PagesDeps } from './render.js';
import { COOKIES, cookieOptions, ensureDevice, messagePage, page } from './render.js';
import * as signIn from './signin.service.js';
import { en as t } from './texts.js';

type AccountParams = { account: string };
type TokenParams = { token: string };

/** The merchant link, sign-in by email (link or code), and the chooser. */
export function signInPages(app: FastifyInstance, deps: PagesDeps): void {
  const { db } = deps;
  const cookie = (maxAge?: number) => cookieOptions(deps.secure, maxAge);
  const signedIn = (reply: FastifyReply, sid: string) =>
    reply
      .setCookie(COOKIES.session, sid, cookie())
      .clearCookie(COOKIES.choice, cookie())
      .redirect('/portal', 303);
  const notFound = (reply: FastifyReply) =>
    messagePage(reply, 404, t.messages.notFoundTitle, t.messages.notFound);
  const invalidLink = (reply: FastifyReply, login?: string, status = 410) =>
    messagePage(reply, status, t.messages.linkInvalidTitle, t.messages.linkInvalid, {
      link: login ? { href: login, text: t.messages.signInAgain } : undefined,
    });

  app.get<{ Params: TokenParams }>('/portal/session/:token', async (request, reply) => {
    const opened = await openMerchantLink(db, request.params.token);
    if (opened.kind === 'signed') return signedIn(reply, opened.sid);
    if (opened.kind === 'gone') return invalidLink(reply, opened.login);
    return messagePage(reply, 404, t.messages.linkUnknownTitle, t.messages.linkUnknown);
  });

  /** The account and mode a sign-in page is for, with the merchant's name; undefined when unknown. */
  async function merchantOf(accountId: string, mode: Mode) {
    if (!isId('acct', accountId)) return undefined;
    const account = await findAccount(db.reader, accountId);
    return account
      ? { owner: { accountId, mode }, name: account.name, base: loginPath(accountId, mode) }
      : undefined;
  }

  for (const mode of ['live', 'test'] as const) {
    const base = mode === 'test' ? '/portal/:account/test/login' : '/portal/:account/login';
    const chrome = (name: string) => ({ merchant: name, testMode: mode === 'test' });

    app.get<{ Params: AccountParams }>(base, async (request, reply) => {
      const m = await merchantOf(request.params.account, mode);
      if (!m) return notFound(reply);
      return page(reply, 'login', 200, { title: t.login.title, action: m.base, ...chrome(m.name) });
    });

    app.post<{ Params: AccountParams }>(base, async (request, reply) => {
      const m = await merchantOf(request.params.account, mode);
      if (!m) return notFound(reply);
      const email = formValue(request.body, 'email').trim();
      const error = fieldError(t, 'email', email);
      if (error) {
        return page(reply, 'login', 400, {
          title: t.login.title,
          action: m.base,
          errors: { email: error },
          values: { email },
          ...chrome(m.name),
        });
      }
      const device = ensureDevice(request, reply, deps.secure);
      await signIn.requestSignIn(db, {
        owner: m.owner,
        email,
        clientIp: request.ip,
        device,
        purpose: 'login',
      });
      // The same answer whoever the address belongs to, or none.
      return reply.redirect(`${m.base}/check`, 303);
    });

    const checkPage = (reply: FastifyReply, m: { name: string; base: string }, status: number, errors = {}) =>
      page(reply, 'check', status, {
        title: t.check.title,
        heading: t.check.title,
        body: t.check.body,
        submit: t.check.submit,
        action: `${m.base}/code`,
        again: m.base,
        errors,
        ...chrome(m.name),
      });

    app.get<{ Params: AccountParams }>(`${base}/check`, async (request, reply) => {
      const m = await merchantOf(request.params.account, mode);
      return m ? checkPage(reply, m, 200) : notFound(reply);
    });

    app.post<{ Params: AccountParams }>(`${base}/code`, async (request, reply) => {
      const m = await merchantOf(request.params.account, mode);
      if (!m) return notFound(reply);
      const code = formValue(request.body, 'code').replace(/\s/g, '');
      if (!/^\d{6}$/.test(code)) return checkPage(reply, m, 400, { code: t.fieldErrors.code });
      const device = ensureDevice(request, reply, deps.secure);
      const row = await signIn.checkCode(db, device, 'login', m.owner, code);
      if (!row) return checkPage(reply, m, 400, { code: t.fieldErrors.wrongCode });
      return consumed(reply, await signIn.consumeLogin(db, row), m.base);
    });
  }

  function consumed(reply: FastifyReply, outcome: signIn.Consumed, login: string) {
    if (outcome.kind === 'signed') return signedIn(reply, outcome.sid);
    if (outcome.kind === 'choose') {
      return reply
        .setCookie(COOKIES.choice, outcome.choice, cookie(signIn.SIGN_IN_SECONDS))
        .redirect('/portal/choose', 303);
    }
    return invalidLink(reply, login);
  }

  /** A link from a mail: GET only shows a button (a mail scanner that fetches it signs nobody in). */
  async function linkOf(request: FastifyRequest<{ Params: TokenParams }>) {
    const row = await signIn.signInByToken(db, request.params.token);
    if (!row) return undefined;
    const name = (await merchantName(db, row.account_id)) ?? t.portal;
    return { row, name, login: loginPath(row.account_id, row.mode), testMode: row.mode === 'test' };
  }

  app.get<{ Params: TokenParams }>('/portal/login/:token', async (request, reply) => {
    const link = await linkOf(request);
    if (!link) return messagePage(reply, 404, t.messages.linkUnknownTitle, t.messages.linkUnknown);
    if (!signIn.isPending(link.row, Math.floor(Date.now() / 1000))) return invalidLink(reply, link.login);
    const login = link.row.purpose === 'login';
    return page(reply, 'link', 200, {
      title: login ? t.link.title : t.link.confirmTitle,
      heading: login ? t.link.title : t.link.confirmTitle,
      body: login ? t.link.body(link.name) : t.link.confirmBody(link.name),
      submit: login ? t.link.submit : t.link.confirmSubmit,
      action: `/portal/login/${request.params.token}`,
      merchant: link.name,
      testMode: link.testMode,
    });
  });

  app.post<{ Params: TokenParams }>('/portal/login/:token', async (request, reply) => {
    const link = await linkOf(request);
    if (!link) return messagePage(reply, 404, t.messages.linkUnknownTitle, t.messages.linkUnknown);
    if (link.row.purpose === 'login')
      return consumed(reply, await signIn.consumeLogin(db, link.row), link.login);
    // The new session id goes only to the browser of the session that asked: another browser
    // (another device, or one signed in as someone else) confirms the address and gets nothing.
    const current = await resolveBrowser(db, request.cookies[COOKIES.session]);
    const fromSession = current.signed !== undefined && current.signed.session.id === link.row.session_id;
    const done = await confirmEmailChange(deps.customers, link.row, request.id, fromSession);
    if (done.kind === 'gone') return invalidLink(reply, link.login);
    if (done.sid)
      return reply.setCookie(COOKIES.session, done.sid, cookie()).redirect('/portal?changed=email', 303);
    return messagePage(reply, 200, t.overview.emailChanged, t.email.done, {
      merchant: link.name,
      testMode: link.testMode,
    });
  });

  app.get('/portal/choose', async (request, reply) => {
    const found = await signIn.choiceOf(db, request.cookies[COOKIES.choice]);
    if (!found || found.candidates.length === 0) return invalidLink(reply, undefined, 410);
    const name = (await merchantName(db, found.row.account_id)) ?? t.portal;
    const choices = found.candidates.map((c) => ({
      id: c.id,
      label: [c.first_name, c.last_name].filter((s) => s !== '').join(' ') || t.choose.unnamed,
      company: c.company_name,
    }));
    return page(reply, 'choose', 200, {
      title: t.choose.title,
      choices,
      merchant: name,
      testMode: found.row.mode === 'test',
    });
  });

  app.post('/portal/choose', async (request, reply) => {
    const found = await signIn.choiceOf(db, request.cookies[COOKIES.choice]);
    if (!found) return invalidLink(reply, undefined, 410);
    const sid = await signIn.choose(db, found.row, formValue(request.body, 'customer'));
    if (!sid) return invalidLink(reply, loginPath(found.row.account_id, found.row.mode));
    return signedIn(reply, sid);
  });
}
