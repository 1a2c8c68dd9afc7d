// HEALTHCHECK of a Noderr node image: GET /health on the node's own port; exit 0 only on 200.
'use strict';

const http = require('node:http');

const port = Number(process.env.NODERR_HEALTH_PORT || 8080);
const request = http.get({ host: '127.0.0.1', port, path: '/health', timeout: 4000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
request.on('timeout', () => request.destroy(new Error('timed out')));
request.on('error', (err) => {
  console.error(`healthcheck: ${err.message}`);
  process.exit(1);
});
