// bench/peers/duck.mjs - DuckDB, the embedded peer of bench/peers.sh, through
// its own Node client (@duckdb/node-api, pinned by package-lock.json here).
//
//   node duck.mjs load DBFILE SQLFILE      runs a load script (one statement
//                                          per ';\n'), prints seconds=S
//   node duck.mjs serve DBFILE             one long-lived process (the
//                                          buffer cache stays warm) reading
//                                          commands on standard input:
//     count NAME SQLFILE                -> COUNT name=NAME count=C
//     time NAME SQLFILE SECONDS SAMPLES -> RESULT requests=N ... count=C
//     quit
// `time` prepares the statement once, then runs it back to back until
// SECONDS have passed (at least once), timing each run with
// process.hrtime.bigint() around `await prepared.runAndReadAll()` and the
// read of the one value: planning is done once (prepared), execution,
// materialising the result and the Node-API hop are in. Each sample (ms)
// is appended to the SAMPLES file; the RESULT line has the same keys as
// bench/latency.c's.
import { DuckDBInstance } from '@duckdb/node-api';
import { appendFileSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [mode, dbfile, arg] = process.argv.slice(2);
const instance = await DuckDBInstance.create(dbfile);
const conn = await instance.connect();

function sqlOf(file) {
  return readFileSync(file, 'utf8').trim().replace(/;\s*$/, '');
}

function pct(sorted, p) {
  if (sorted.length === 0) return 0;
  const i = Math.ceil((p / 100) * sorted.length);
  return sorted[i ? i - 1 : 0];
}

if (mode === 'load') {
  const t0 = process.hrtime.bigint();
  for (const stmt of readFileSync(arg, 'utf8').split(/;\s*\n/)) {
    if (stmt.trim()) await conn.run(stmt);
  }
  console.log(`seconds=${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(3)}`);
  conn.closeSync();
  instance.closeSync();
} else if (mode === 'serve') {
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const [cmd, name, file, seconds, samples] = line.trim().split(/\s+/);
    if (cmd === 'quit') break;
    if (cmd === 'count') {
      const r = await conn.runAndReadAll(sqlOf(file));
      console.log(`COUNT name=${name} count=${String(r.getRows()[0][0] ?? 0)}`);
      continue;
    }
    if (cmd !== 'time') {
      console.log(`ERROR unknown command ${cmd}`);
      continue;
    }
    const prepared = await conn.prepare(sqlOf(file));
    const lat = [];
    let count = '';
    const t0 = process.hrtime.bigint();
    let t = t0;
    while (lat.length === 0 || Number(t - t0) / 1e9 < Number(seconds)) {
      const a = process.hrtime.bigint();
      const r = await prepared.runAndReadAll();
      count = String(r.getRows()[0][0] ?? 0);
      t = process.hrtime.bigint();
      lat.push(Number(t - a) / 1e6);
    }
    prepared.destroySync();
    if (samples) appendFileSync(samples, lat.map((v) => v.toFixed(4)).join('\n') + '\n');
    const dur = Number(t - t0) / 1e9;
    const sum = lat.reduce((s, v) => s + v, 0);
    lat.sort((x, y) => x - y);
    console.log(
      `RESULT requests=${lat.length} seconds=${dur.toFixed(3)} rps=${(lat.length / dur).toFixed(1)} ` +
        `p50_ms=${pct(lat, 50).toFixed(3)} p90_ms=${pct(lat, 90).toFixed(3)} p99_ms=${pct(lat, 99).toFixed(3)} ` +
        `p999_ms=${pct(lat, 99.9).toFixed(3)} max_ms=${lat[lat.length - 1].toFixed(3)} ` +
        `mean_ms=${(sum / lat.length).toFixed(3)} errors=0 non2xx=0 count=${count}`
    );
  }
  conn.closeSync();
  instance.closeSync();
} else {
  console.error('usage: duck.mjs load DBFILE SQLFILE | serve DBFILE');
  process.exit(2);
}
