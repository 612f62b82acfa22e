export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * `fetch` and read the JSON body, settling within `ms` whatever happens. An abort signal alone is
 * not enough: undici follows the caller's signal through a weak reference, so after a garbage
 * collection the abort may never reach the request (nodejs/undici#3644), and a request to a port
 * that some other process took over after a kill may then wait forever. So the deadline is also
 * raced against the answer, and the request is aborted when it passes.
 */
export async function fetchWithin(url: string, init: RequestInit, ms: number): Promise<Answer> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`no answer from ${url} within ${ms} ms`);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  const answer = (async () => {
    const res = await fetch(url, { ...init, signal: controller.signal });
    return { status: res.status, headers: res.headers, body: await res.json() };
  })();
  // A late failure of the abandoned request is not this caller's any more.
  answer.catch(() => {});
  try {
    return await Promise.race([answer, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
