// The benchmark's webhook receiver: answers every POST with 200 at once and records, per
// delivery, when it arrived and the event's `created` (unix seconds, from the body), so the run
// can count deliveries and their lag from commit. GET /stats returns what it saw and resets.
import { createServer } from 'node:http';

let arrivals = [];
createServer((req, res) => {
  if (req.method === 'GET') {
    const body = req.url === '/stats' ? JSON.stringify({ arrivals }) : 'ok';
    if (req.url === '/stats') arrivals = [];
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    let created = null;
    try {
      created = JSON.parse(Buffer.concat(chunks).toString('utf8')).created ?? null;
    } catch {}
    arrivals.push({ id: req.headers['webhook-id'] ?? null, at, created });
    res.writeHead(200).end();
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
