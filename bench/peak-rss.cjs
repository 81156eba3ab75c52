// Preloaded by the benchmark (`node -r bench/peak-rss.cjs …`): the process's peak resident
// memory, written at exit to $BENCH_PEAK_RSS_FILE. Measured, reported, never asserted.
const { writeFileSync } = require('node:fs');
process.on('exit', () => {
  if (process.env.BENCH_PEAK_RSS_FILE) writeFileSync(process.env.BENCH_PEAK_RSS_FILE, String(process.resourceUsage().maxRSS * 1024));
});
