import pg from 'pg';

/**
 * Runs `onMessage` for each NOTIFY on `channel`, over a connection of its own (a pooled one would
 * go back to the pool and stop listening). A lost connection is replaced every second until it
 * comes back; `onLive(false)` says notifications may have been missed meanwhile. Returns `stop`.
 */
export function listenPostgres(
  url: string,
  schema: string | undefined,
  channel: string,
  onMessage: (payload: string) => void,
  onLive: (live: boolean) => void,
): () => void {
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    const next = new pg.Client({
      connectionString: url,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    const lost = () => {
      onLive(false);
      next.removeAllListeners();
      next.on('error', () => {});
      next.end().catch(() => {});
      if (!stopped) retry = setTimeout(() => void connect(), 1000).unref();
    };
    next.on('error', lost);
    next.on('end', () => !stopped && lost());
    next.on('notification', (message) => {
      if (message.channel === channel) onMessage(message.payload ?? '');
    });
    try {
      await next.connect();
      await next.query(`listen ${channel}`);
      if (stopped) return void next.end().catch(() => {});
      client = next;
      onLive(true);
    } catch {
      lost();
    }
  };
  void connect();
  return () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    client?.end().catch(() => {});
  };
}
