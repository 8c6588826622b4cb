const m0 = process.memoryUsage(); const t=performance.now();
for (const m of process.argv.slice(2)) await import(m);
const m1 = process.memoryUsage();
console.log(process.argv.slice(2).join(' '), (performance.now()-t).toFixed(0),'ms', 'rss', ((m1.rss-m0.rss)/1e6).toFixed(1), 'heapUsed', ((m1.heapUsed-m0.heapUsed)/1e6).toFixed(1), 'heapTotal', ((m1.heapTotal-m0.heapTotal)/1e6).toFixed(1), 'base rss', (m0.rss/1e6).toFixed(1));
