import '@endo/init/pre-bundle-source.js';
import '@endo/init';
const { makeWorld } = await import('./lib/world.js');
const by = new Map(); let last = null;
const slogSender = ev => {
  const now = performance.now();
  if (last) { const e = by.get(last.type) || [0,0]; e[0] += now - last.t; e[1]++; by.set(last.type, e); }
  last = { type: ev.type, t: now };
};
const configExtra = process.argv[3] ? { snapshotInterval: Number(process.argv[3]) } : {};
const w = await makeWorld({ vats: { boot: 'boot', ping: 'ping', pong: 'pong' }, bootstrap: 'boot', configExtra, slogSender });
by.clear(); last = null;
const c0 = w.crankNumber();
const t1 = performance.now();
const r = await w.ask('boot', 'pingpong', [Number(process.argv[2] || 100)]);
console.log('result', r, (performance.now()-t1)/1000, w.crankNumber()-c0, w.stats);
console.log([...by].sort((a,b)=>b[1][0]-a[1][0]).slice(0,15).map(([k,[ms,n]])=>`${k} ${(ms/1000).toFixed(3)}s n=${n}`).join('\n'));
console.log(JSON.stringify(w.controller.getStats()));
await w.close();
