import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SmtpSink {
  /** `smtp://127.0.0.1:PORT`, for LUNIPAY_SMTP_URL */
  url: string;
  /** every mail received, parsed, in arrival order */
  messages: ParsedMail[];
  /** the raw bytes of each mail, as sent */
  raw: string[];
  /** the SMTP status each RCPT TO gets while set (e.g. 451 or 550); null accepts */
  refuse: number | null;
  close(): Promise<void>;
}

/** A real SMTP server (smtp-server) on 127.0.0.1 that keeps what it receives. */
export async function startSmtp(): Promise<SmtpSink> {
  const sink: SmtpSink = { url: '', messages: [], raw: [], refuse: null, close: async () => {} };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (sink.refuse === null) return callback();
      const error = Object.assign(new Error('mailbox unavailable'), { responseCode: sink.refuse });
      return callback(error);
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const bytes = Buffer.concat(chunks);
        simpleParser(bytes).then(
          (mail) => {
            sink.raw.push(bytes.toString('utf8'));
            sink.messages.push(mail);
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  sink.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return sink;
}

/** The sign-in link's path and the code of a mail the portal sent. */
export function linkAndCode(mail: ParsedMail): { path: string; token: string; code: string } {
  const text = mail.text ?? '';
  const link = /https?:\/\/[^\s/]+(\/portal\/login\/([A-Za-z0-9_-]{43}))/.exec(text);
  const code = /^ {4}(\d{6})$/m.exec(text);
  if (!link || !code) throw new Error('no link and code in the mail');
  return { path: link[1] as string, token: link[2] as string, code: code[1] as string };
}
