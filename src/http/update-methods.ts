/**
 * The methods an update answers, with the operation names each has in the OpenAPI document:
 * PATCH, and the same update for Stripe-style clients, which send every write as a POST.
 */
export function updateMethods(operationId: string, summary: string) {
  return [
    { method: 'PATCH', operationId },
    { method: 'POST', operationId: `${operationId}Post`, summary: `${summary} (POST alias)` },
  ] as const;
}
