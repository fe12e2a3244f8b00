#!/usr/bin/env node
// The container's HEALTHCHECK: healthy when /healthz answers 200 on the HTTP port (app over HTTP)
// or on the ops port (Socket Mode, `npm run worker`), whichever this process serves.
const ports = [process.env.PORT || "3000", process.env.LENSBOT_OPS_PORT || "9090"];
const probe = (port) =>
  fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
    (res) => res.ok,
    () => false,
  );
const results = await Promise.all(ports.map(probe));
process.exit(results.some(Boolean) ? 0 : 1);
