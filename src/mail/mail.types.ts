import type { Transaction } from 'kysely';
import type { Db } from '../db/index.js';
import type { Database } from '../db/schema.js';

/** One mail, ready to send: a text part and an HTML part. */
export interface MailMessage {
  from: { name: string; address: string };
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Where mail goes: an SMTP server, or `.eml` files in a folder. */
export interface MailTransport {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/**
 * What a mail job does when it runs: the subsystem that asked for the mail (the portal) makes it
 * from what its tables hold then, so no address, token or code ever sits in a job's payload.
 * `sent` runs in the transaction that marks the job done.
 */
export type ComposeResult =
  | { send: MailMessage; sent?: (trx: Transaction<Database>) => Promise<void> }
  | { skip: string };

export type Composer = (db: Db, ref: string, now: number) => Promise<ComposeResult>;

/** What the worker's mail lane needs. */
export interface MailContext {
  transport: MailTransport;
  /** by the `kind` a mail job names */
  composers: Readonly<Record<string, Composer>>;
}
