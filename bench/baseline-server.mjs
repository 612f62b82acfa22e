// The baseline: a bare node:http server answering every request with the same customer JSON,
// byte for byte what a retrieve answers, whatever the method or path. Nothing else: no routing,
// no parsing, no headers beyond the two every JSON response needs. Plain JS, no loader.
import { createServer } from 'node:http';

const body = Buffer.from(process.env.BASELINE_BODY ?? '{}', 'utf8');
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length };

// A request body, when there is one, is left unread: node discards it before the next request.
const server = createServer((_request, response) => {
  response.writeHead(200, headers);
  response.end(body);
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
