import { Type } from '@sinclair/typebox';
import type { Mode } from '../db/schema.js';
import { newId } from '../ids.js';
import type { JobContext, JobOutcome, JobType } from '../jobs/job.js';
import { parsePayload } from '../jobs/job.js';
import type { NewJob } from '../jobs/jobs.store.js';
import { queuedJob } from '../jobs/jobs.store.js';
import { MailRefused } from './transport.js';

export const SEND_MAIL = 'mail.send';

/** A mail job's payload: which kind of mail, about which object. Never an address or a secret. */
const Payload = Type.Object({ v: Type.Literal(1), kind: Type.String(), ref: Type.String() });
interface MailPayload {
  v: 1;
  kind: string;
  ref: string;
}

/**
 * The job of one mail, to be inserted in the transaction that causes it. Mails need no order
 * among themselves: each has an ordering key of its own.
 */
export function mailJob(
  kind: string,
  ref: string,
  owner: { accountId: string; mode: Mode },
  at: number,
): NewJob {
  const id = newId('job');
  const payload: MailPayload = { v: 1, kind, ref };
  return queuedJob(
    {
      id,
      type: SEND_MAIL,
      // The object the mail is about (a sign-in request), in the column every job has.
      customer_id: ref,
      account_id: owner.accountId,
      mode: owner.mode,
      payload: JSON.stringify(payload),
      ordering_key: id,
      event_id: null,
      endpoint_id: null,
    },
    at,
  );
}

async function send(ctx: JobContext, p: MailPayload): Promise<JobOutcome> {
  const mail = ctx.mail;
  if (!mail) throw new Error('a mail job ran in a worker without a mail lane');
  const compose = mail.composers[p.kind];
  if (!compose) return { status: 'failed', error: `unknown mail kind '${p.kind}'` };
  const made = await compose(ctx.db, p.ref, ctx.now());
  if ('skip' in made) return { status: 'cancelled', note: made.skip };
  try {
    await mail.transport.send(made.send);
  } catch (error) {
    // Only the reduced description: the server's text may quote the address.
    const message = error instanceof Error ? error.message : 'mail not sent';
    return error instanceof MailRefused
      ? { status: 'failed', error: message }
      : { status: 'retry', error: message };
  }
  return { status: 'succeeded', note: p.kind, record: made.sent };
}

export const sendMail: JobType<MailPayload> = {
  type: SEND_MAIL,
  parse(raw) {
    return parsePayload(this.type, Payload, raw);
  },
  run: send,
};

export const MAIL_JOB_TYPES: readonly JobType<MailPayload>[] = [sendMail];
