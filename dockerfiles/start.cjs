// Entry point of a Noderr node image: load the tier's packages, then serve /health.
// NODERR_PACKAGES (space-separated) and NODERR_TIER are set by the Dockerfile.
'use strict';

const http = require('node:http');

const tier = process.env.NODERR_TIER || 'unknown';
const version = process.env.NODERR_VERSION || 'unknown';
const port = Number(process.env.NODERR_HEALTH_PORT || 8080);
const names = (process.env.NODERR_PACKAGES || '').split(/\s+/).filter(Boolean);

const loaded = names.map((name) => require(`@noderr/${name}`));
const started = new Date().toISOString();

const server = http.createServer((req, res) => {
  if (req.url !== '/health') {
    res.writeHead(404).end();
    return;
  }
  const ready = loaded.every((pkg) => pkg.ready());
  res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ tier, version, started, packages: loaded.map((p) => p.name), ready }));
});

server.listen(port, () => {
  console.log(`noderr ${tier} ${version}: ${loaded.length} packages loaded, health on :${port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
