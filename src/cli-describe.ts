import type { StripeStatus } from './jobs/jobs.service.js';
import type { ImportSummary as CustomerImportSummary } from './search/import.js';
import type { ImportSummary } from './stripe/stripe-import.js';
import type { DeliveriesStatus, EndpointDeliveries } from './webhooks/deliveries.service.js';

// What the command line prints without --json: one function per summary, plain lines.

export function describeStatus(s: StripeStatus & { unprovisioned: number }): string {
  const age =
    s.oldest_pending_age_seconds === null ? '' : ` (oldest waiting ${s.oldest_pending_age_seconds} s)`;
  const lines = [
    `Stripe jobs pending: ${s.pending}${age}, of which running: ${s.running}`,
    `failed: ${s.failed}   dead: ${s.dead}`,
    `customers not provisioned yet: ${s.unprovisioned}`,
  ];
  if (s.last_errors.length > 0) lines.push('', 'Last errors:');
  for (const e of s.last_errors) {
    const at = new Date(e.at * 1000).toISOString();
    lines.push(
      `  ${at}  ${e.id}  ${e.type}  ${e.customer}  ${e.state}, attempt ${e.attempts}`,
      `    ${e.error}`,
    );
  }
  if (s.failed + s.dead > 0) lines.push('', 'Retry one with: lunipay stripe retry JOB_ID');
  return lines.join('\n');
}

export function describeCustomerImport(s: CustomerImportSummary, dryRun: boolean): string {
  const lines = [
    `${dryRun ? 'Would create' : 'Created'} ${s.created}, skipped ${s.skipped} (imported before), failed ${s.failed}.`,
  ];
  for (const e of s.errors) lines.push(`  line ${e.line}${e.param ? ` (${e.param})` : ''}: ${e.message}`);
  return lines.join('\n');
}

export function describeImport(s: ImportSummary, dryRun: boolean): string {
  const counts = `${s.linked}, created ${s.created}, skipped ${s.skipped}.`;
  const lines = [dryRun ? `Dry run, nothing written. Would have linked ${counts}` : `Linked ${counts}`];
  for (const e of s.errors) lines.push(`  ${e.stripe_customer_id}: ${e.message}`);
  return lines.join('\n');
}

export function describeEndpoint(e: EndpointDeliveries): string {
  return (
    `${e.id}  ${e.account}  ${e.mode}  ${e.status}  ${e.url}\n` +
    `    events: ${e.enabled_events.join(', ')}   pending: ${e.pending}   failed: ${e.failed}`
  );
}

export function describeDeliveries(s: DeliveriesStatus): string {
  const age =
    s.oldest_pending_age_seconds === null ? '' : ` (oldest waiting ${s.oldest_pending_age_seconds} s)`;
  return [
    `Webhook deliveries pending: ${s.pending}${age}, of which running: ${s.running}`,
    `failed: ${s.failed}   endpoints disabled: ${s.endpoints_disabled}`,
  ].join('\n');
}
