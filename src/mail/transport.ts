import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Transporter } from 'nodemailer';
import type { MailConfig } from '../config.js';
import type { MailMessage, MailTransport } from './mail.types.js';

/** A refusal of the mail server that will not change on a retry (5xx): the mail fails. */
export class MailRefused extends Error {
  override name = 'MailRefused';
}

/**
 * nodemailer's error, reduced to what may be logged and stored: its code and the SMTP status.
 * The server's own text can quote the recipient's address, so it is dropped.
 */
function describe(error: unknown): Error {
  const e = error as { code?: unknown; responseCode?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'error';
  const status = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const text = `mail not sent: ${code}${status === undefined ? '' : ` (SMTP ${status})`}`;
  return status !== undefined && status >= 500 && status < 600 ? new MailRefused(text) : new Error(text);
}

function envelope(message: MailMessage) {
  return {
    from: { name: message.from.name, address: message.from.address },
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
  };
}

/**
 * nodemailer is loaded with the first mail, not at start: most processes send none for long,
 * and it costs several megabytes of memory.
 */
function lazyTransport(options: Parameters<typeof import('nodemailer').createTransport>[0]) {
  let made: Promise<Transporter> | undefined;
  let transport: Transporter | undefined;
  return {
    get: () =>
      (made ??= import('nodemailer').then(({ default: nodemailer }) => {
        transport = nodemailer.createTransport(options);
        return transport;
      })),
    close: () => transport?.close(),
  };
}

/**
 * SMTP when `LUNIPAY_SMTP_URL` is set; otherwise each mail is an `.eml` file in the mail folder
 * (written under a temporary name, then renamed, so a reader never sees half a mail).
 */
export function createMailTransport(config: MailConfig): MailTransport {
  if (config.smtpUrl !== undefined) {
    // Short timeouts: a mail server that hangs delays the job's retry, never the lane for long.
    const transport = lazyTransport({
      url: config.smtpUrl,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
      logger: false,
      debug: false,
    });
    return {
      async send(message) {
        try {
          await (await transport.get()).sendMail(envelope(message));
        } catch (error) {
          throw describe(error);
        }
      },
      close: () => transport.close(),
    };
  }
  const files = lazyTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(message) {
      const info = await (await files.get()).sendMail(envelope(message));
      mkdirSync(config.dir, { recursive: true, mode: 0o700 });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}.eml`;
      const temporary = join(config.dir, `.${name}.tmp`);
      writeFileSync(temporary, info.message as Buffer, { mode: 0o600 });
      renameSync(temporary, join(config.dir, name));
    },
    close: () => files.close(),
  };
}
