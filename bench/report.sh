#!/usr/bin/env bash
# bench/report.sh - bench/run.sh's results.txt as markdown tables.
#   bench/report.sh WORK/results.txt
set -euo pipefail
awk -F= '
function f(line, key,   m) { if (match(line, key "=[^ ]*")) return substr(line, RSTART + length(key) + 1, RLENGTH - length(key) - 1); return "" }
{ k = $1; v = substr($0, length($1) + 2); val[k] = v; if (k ~ /^flist\./) forder[++fn] = substr(k, 7); else if (k ~ /^latency\.list\./) lorder[++ln] = substr(k, 9); else if (k ~ /^latency\./) order[++n] = substr(k, 9) }
END {
  printf "### %s images, %s records (%s per image), seed %s\n\n", val["images_stored"], val["records"], val["records_per_image"], val["seed"]
  printf "Machine: %s.\n\n", val["machine"]
  printf "Latency is the engine'"'"'s: every answer computed from the index (`--result-cache-mb 0`).\n\n"
  printf "| body | total_num | imgsecd p50 ms | imgsecd p99 ms | plain SQL ms | SQL / imgsecd p50 |\n|---|---:|---:|---:|---:|---:|\n"
  worst = 0; minratio = -1
  for (i = 1; i <= n; i++) {
    b = order[i]; l = val["latency." b]; p50 = f(l, "p50_ms"); p99 = f(l, "p99_ms"); s = val["sql_seconds." b] * 1000
    ratio = (p50 > 0) ? s / p50 : 0
    if (p99 + 0 > worst) { worst = p99 + 0; worst_b = b }
    if (minratio < 0 || ratio < minratio) { minratio = ratio; min_b = b }
    printf "| %s | %s | %.3f | %.3f | %.1f | %.0fx |\n", b, val["total." b], p50, p99, s, ratio
  }
  if (ln) {
    printf "\nImage lists, a 200-item page (`list.*_deep` and `_sorted` at offset images/2), one connection:\n\n"
    printf "| list | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|\n"
    for (i = 1; i <= ln; i++) { l = val["latency." lorder[i]]; printf "| %s | %s | %s | %s |\n", lorder[i], f(l, "p50_ms"), f(l, "p99_ms"), f(l, "max_ms") }
  }
  if (fn) {
    printf "\nFinding lists (bench/lists.sh), a 200-item page (`.last`: the last page, offset total-200; `.mid`: the middle, offset total/2), one connection, result cache off; load average (1, 5, 15 min) %s:\n\n", val["load.lists"]
    printf "| list | p50 ms | p99 ms | max ms | requests | non-2xx | timed out |\n|---|---:|---:|---:|---:|---:|---:|\n"
    for (i = 1; i <= fn; i++) { l = val["flist." forder[i]]; printf "| %s | %s | %s | %s | %s | %s | %s |\n", forder[i], f(l, "p50_ms"), f(l, "p99_ms"), f(l, "max_ms"), f(l, "requests"), f(l, "non2xx"), f(l, "timed_out") }
  }
  ti = val["throughput.imgsecd"]; tn = val["throughput.nginx"]
  q = val["mix_quiet"]; d = val["mix_during_ingest"]
  printf "\n| measure | value |\n|---|---|\n"
  printf "| ingest (`imgsec import`, offline, one process per EP) | %s records/s (%s records in %s s) |\n", val["ingest_records_per_s"], val["records"], val["ingest_seconds"]
  printf "| start, cold page cache (index built from the store) | %s s (%s) |\n", val["start_seconds"], val["start_log"]
  if (val["restart_seconds"] != "") printf "| start, warm page cache | %s s |\n", val["restart_seconds"]
  te = val["throughput.imgsecd_engine"]; c = val["mix_cached"]
  printf "| worst p99 of the mix, one connection | %.3f ms (%s) |\n", worst, worst_b
  printf "| smallest SQL / imgsecd ratio | %.0fx (%s) |\n", minratio, min_b
  printf "| throughput, mix, wrk 64 connections, as served (result cache on) | %s req/s (p50 %s ms, p99 %s ms, non-2xx %s, errors %s) |\n", f(ti, "rps"), f(ti, "p50_ms"), f(ti, "p99_ms"), f(ti, "non2xx"), f(ti, "errors")
  tl = val["throughput.imgsecd_light"]
  printf "| throughput, body 01 alone (the HTTP path), wrk 64 connections | %s req/s (p99 %s ms) |\n", f(tl, "rps"), f(tl, "p99_ms")
  printf "| throughput, mix, every answer computed (result cache off) | %s req/s (p50 %s ms, p99 %s ms, non-2xx %s, errors %s) |\n", f(te, "rps"), f(te, "p50_ms"), f(te, "p99_ms"), f(te, "non2xx"), f(te, "errors")
  printf "| nginx static `{\"total_num\": 1}`, same wrk | %s req/s |\n", f(tn, "rps")
  printf "| imgsecd / nginx: mix as served, body 01 alone, mix computed | %.2f, %.2f, %.2f |\n", f(ti, "rps") / f(tn, "rps"), f(tl, "rps") / f(tn, "rps"), f(te, "rps") / f(tn, "rps")
  printf "| result cache over the served run | %s |\n", val["result_cache"]
  printf "| mix, one connection, as served (result cache on) | p50 %s ms, p99 %s ms, p99.9 %s ms, max %s ms |\n", f(c, "p50_ms"), f(c, "p99_ms"), f(c, "p999_ms"), f(c, "max_ms")
  printf "| mix, one connection, quiet, computed | p50 %s ms, p99 %s ms, p99.9 %s ms, max %s ms |\n", f(q, "p50_ms"), f(q, "p99_ms"), f(q, "p999_ms"), f(q, "max_ms")
  printf "| mix, one connection, during a bulk ingest of %s records (%s s) | p50 %s ms, p99 %s ms, p99.9 %s ms, max %s ms (%s requests) |\n", val["live_ingest_records"], val["live_ingest_seconds"], f(d, "p50_ms"), f(d, "p99_ms"), f(d, "p999_ms"), f(d, "max_ms"), f(d, "requests")
  printf "| index follower over the whole run | %s |\n", val["follower"]
  printf "| RSS after start / peak (result cache on; off, with the live ingest) | %s MB / %s MB; %s MB |\n", val["rss_after_start_mb"], val["rss_peak_cached_mb"], val["rss_peak_mb"]
  printf "| database file | %.0f MB |\n", val["db_bytes"] / 1048576
  printf "| load average (1, 5, 15 min) at ingest / start / throughput / latency / throughput computed / live ingest | %s / %s / %s / %s / %s / %s |\n", val["load.ingest"], val["load.start"], val["load.throughput"], val["load.latency"], val["load.throughput_engine"], val["load.live_ingest"]
  printf "| checks (imgsecd total_num = plain SQL count, computed and again from the result cache) | %s passed, %s failed |\n", val["checks_passed"], val["checks_failed"]
}' "$1"
