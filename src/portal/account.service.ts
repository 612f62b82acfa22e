import { Ajv, type ErrorObject } from 'ajv';
import { UpdateCustomerBody } from '../customers/customers.schema.js';
import type { CustomerDeps } from '../customers/customers.service.js';
import { updateCustomer } from '../customers/customers.service.js';
import type { Origin } from '../db/write-hooks.js';
import { AppError } from '../errors.js';
import { insertJob } from '../jobs/jobs.store.js';
import { mailJob } from '../mail/mail.job.js';
import { rotate, type Signed } from './browser.service.js';
import * as store from './portal.store.js';
import { nowSeconds } from './sessions.service.js';
import { CHANGED_MAIL, candidatesOf, isPending } from './signin.service.js';
import type { Texts } from './texts.js';

/** The fields a customer may change in the portal, named as in the API. */
export const EDITABLE = ['first_name', 'last_name', 'phone', 'company_name'] as const;
export type Editable = (typeof EDITABLE)[number];
export type FieldErrors = Partial<Record<Editable | 'email' | 'code', string>>;

// The API's own schemas for these fields, so the portal accepts exactly what the API accepts.
const ajv = new Ajv({ allErrors: false, strict: false, unicodeRegExp: true });
const props = UpdateCustomerBody.properties as Record<string, object>;
const checks = Object.fromEntries(
  [...EDITABLE, 'email'].map((field) => [field, ajv.compile({ ...props[field], $id: undefined })]),
);

function message(t: Texts, field: string, error: ErrorObject | undefined): string {
  if (error?.keyword === 'maxLength') return t.fieldErrors.tooLong(Number(error.params.limit));
  if (field === 'email') return t.fieldErrors.email;
  return t.fieldErrors.invalid;
}

/** A form field checked by the API's schema: the error to show beside it, or none. */
export function fieldError(t: Texts, field: Editable | 'email', value: string): string | undefined {
  if (field === 'email' && value.trim() === '') return t.fieldErrors.required;
  const check = checks[field];
  if (!check || check(value)) return undefined;
  return message(t, field, check.errors?.[0] ?? undefined);
}

/** What a form body says of one field: a single string, else nothing. */
export const formValue = (body: unknown, field: string): string => {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  return typeof value === 'string' ? value : '';
};

const authOf = (signed: Signed) => ({
  accountId: signed.session.account_id,
  mode: signed.session.mode,
  keyId: signed.session.id,
});

export const portalOrigin = (requestId: string): Origin => ({
  requestId,
  idempotencyKey: null,
  source: 'portal',
});

/**
 * The edit form, saved through the customers service like an API update: the same validation,
 * the event (`request.source: "portal"`) and the Stripe outbox, in one transaction.
 */
export async function saveDetails(
  deps: CustomerDeps,
  t: Texts,
  signed: Signed,
  body: unknown,
  requestId: string,
): Promise<{ errors: FieldErrors; values: Record<Editable, string> }> {
  const values = Object.fromEntries(EDITABLE.map((f) => [f, formValue(body, f).trim()])) as Record<
    Editable,
    string
  >;
  const errors: FieldErrors = {};
  for (const field of EDITABLE) {
    const error = fieldError(t, field, values[field]);
    if (error) errors[field] = error;
  }
  if (Object.keys(errors).length === 0) {
    await updateCustomer(deps, authOf(signed), signed.customer.id, values, portalOrigin(requestId));
  }
  return { errors, values };
}

/** The outcome of confirming a new address: the new cookie when this browser holds the session. */
export type Confirmed = { kind: 'changed'; sid?: string } | { kind: 'gone' };

/**
 * Applies a confirmed email change through the customers service; in the same transaction the
 * sign-in is used up, the old address is queued its notice, and the session gets a new id.
 */
export async function confirmEmailChange(
  deps: CustomerDeps,
  row: store.SignInRow,
  requestId: string,
  fromSession: boolean,
): Promise<Confirmed> {
  const now = nowSeconds();
  if (row.purpose !== 'email_change' || row.new_email === null || !isPending(row, now))
    return { kind: 'gone' };
  const customer = (await candidatesOf(deps.db.reader, row))[0];
  if (!customer) return { kind: 'gone' };
  const owner = { accountId: row.account_id, mode: row.mode };
  const auth = { ...owner, keyId: row.session_id ?? row.id };
  let sid: string | undefined;
  try {
    await updateCustomer(
      deps,
      auth,
      customer.id,
      { email: row.new_email },
      portalOrigin(requestId),
      async (trx) => {
        const used = await store.updatePendingSignIn(trx, row.id, {
          used_at: now,
          new_email: null,
          old_email: customer.email,
        });
        if (!used) throw new AppError('resource_missing', 'This sign-in was used meanwhile.');
        await insertJob(trx, mailJob(CHANGED_MAIL, row.id, owner, Date.now()));
        if (row.session_id) {
          const next = await rotate(trx, row.session_id);
          if (fromSession) sid = next;
        }
      },
    );
  } catch (error) {
    if (error instanceof AppError && error.code === 'resource_missing') return { kind: 'gone' };
    throw error;
  }
  return { kind: 'changed', sid };
}
