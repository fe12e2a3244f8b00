import { startHarness, slashCommand } from "../test/support/harness.js";
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a,b)=>a-b); return Math.round(s[Math.max(0, Math.ceil(p/100*s.length)-1)]!*10)/10; };
async function run(conc: number, n: number, pauseWorker: boolean) {
  const h = await startHarness({ engine: "offline" });
  if (pauseWorker) await h.worker.pause(true);
  const lat: number[] = []; let next = 0;
  const s = async () => { for (let i = next++; i < n + 20; i = next++) { const t0 = performance.now(); await slashCommand(h.url, `Our dashboard API is stuck at 350 ms p50 despite a Redis cache (case ${i})`); if (i >= 20) lat.push(performance.now() - t0); } };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, s));
  const el = performance.now() - t0;
  console.log({ conc, pauseWorker, p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99), max: pct(lat, 100), rps: Math.round((n+20) / el * 1000) });
  await h.queue.drain(); 
  await h.close(); (h.worker.opts.connection as any).disconnect();
}
await run(1, 200, true);
await run(1, 200, false);
await run(20, 500, true);
await run(20, 500, false);
