import { Eta } from 'eta';
import { findAccount } from '../accounts/accounts.store.js';
import type { Db } from '../db/index.js';
import type { ComposeResult, Composer, MailMessage } from '../mail/mail.types.js';
import * as store from './portal.store.js';
import { hashCode, hashToken, newCode, newToken } from './secrets.js';
import {
  CHANGED_MAIL,
  CONFIRM_MAIL,
  candidatesOf,
  isPending,
  SIGN_IN_MAIL,
  SIGN_IN_SECONDS,
} from './signin.service.js';
import { en } from './texts.js';
import { VIEWS } from './views.js';

const eta = new Eta({ views: VIEWS, cache: true, autoEscape: true });
const t = en;

interface MailSettings {
  publicUrl: string;
  /** LUNIPAY_MAIL_FROM; the display name is the merchant's */
  from: string;
}

function message(
  settings: MailSettings,
  merchant: string,
  to: string,
  testMode: boolean,
  parts: { subject: string; lines: string[]; link?: string; button?: string; code?: string; after: string[] },
): MailMessage {
  const subject = `${testMode ? t.testSubjectPrefix : ''}${parts.subject}`;
  const text = [
    ...(testMode ? [t.testBanner, ''] : []),
    ...parts.lines,
    '',
    ...(parts.link ? [parts.link, ''] : []),
    ...(parts.code ? [t.mail.codeIntro, '', `    ${parts.code}`, ''] : []),
    ...parts.after,
  ].join('\n');
  const html = eta.render('./mail', { t, testMode, ...parts, subject });
  return { from: { name: merchant, address: settings.from }, to, subject, text: `${text}\n`, html };
}

const clock = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString().slice(11, 16);

/**
 * The sign-in or confirmation mail: its token and code are made now, stored as hashes, then
 * sent. A retry makes new ones, so only the mail that was sent last works.
 */
function linkMail(settings: MailSettings): Composer {
  return async (db: Db, ref: string, nowMs: number): Promise<ComposeResult> => {
    const now = Math.floor(nowMs / 1000);
    const row = await store.findSignIn(db.kysely, ref);
    if (!row || !isPending(row, now)) return { skip: 'sign-in no longer pending' };
    let to: string | null = row.new_email;
    if (row.purpose === 'login') {
      const found = await candidatesOf(db.kysely, row);
      // No customer has the address: nothing is sent, and the asker cannot tell.
      if (found.length === 0) return { skip: 'no customer has this address' };
      to = (found[0] as { email: string }).email;
    }
    const account = await findAccount(db.kysely, row.account_id);
    if (!account || to === null) return { skip: 'nothing to send' };
    const token = newToken();
    const code = newCode();
    const stored = await db.kysely.transaction().execute((trx) =>
      store.updatePendingSignIn(trx, row.id, {
        token_hash: hashToken(token),
        code_hash: hashCode(row.id, code),
      }),
    );
    if (!stored) return { skip: 'sign-in no longer pending' };
    const login = row.purpose === 'login';
    return {
      send: message(settings, account.name, to, row.mode === 'test', {
        subject: login ? t.mail.signInSubject(account.name) : t.mail.confirmSubject(account.name),
        lines: [login ? t.mail.signInIntro(account.name) : t.mail.confirmIntro(account.name)],
        link: `${settings.publicUrl}/portal/login/${token}`,
        button: login ? t.mail.button : t.mail.confirmButton,
        code,
        after: [t.mail.expires(SIGN_IN_SECONDS / 60, clock(row.expires_at)), t.mail.ignore],
      }),
    };
  };
}

/** The notice to the old address once a change is made; the address is forgotten once told. */
function changedMail(settings: MailSettings): Composer {
  return async (db: Db, ref: string): Promise<ComposeResult> => {
    const row = await store.findSignIn(db.kysely, ref);
    if (!row || row.old_email === null) return { skip: 'nothing to tell' };
    const account = await findAccount(db.kysely, row.account_id);
    if (!account) return { skip: 'account gone' };
    return {
      send: message(settings, account.name, row.old_email, row.mode === 'test', {
        subject: t.mail.changedSubject(account.name),
        lines: [t.mail.changedBody(account.name)],
        after: [t.mail.changedHelp(account.name)],
      }),
      sent: (trx) => store.updateSignIn(trx, row.id, { old_email: null }),
    };
  };
}

/** The portal's mails, by the kind their jobs name. */
export function portalComposers(settings: MailSettings): Record<string, Composer> {
  return {
    [SIGN_IN_MAIL]: linkMail(settings),
    [CONFIRM_MAIL]: linkMail(settings),
    [CHANGED_MAIL]: changedMail(settings),
  };
}
