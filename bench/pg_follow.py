#!/usr/bin/env python3
"""bench/pg_follow.py - how long a write acknowledged by node A takes to be
visible on node B (two imgsecd on one PostgreSQL database; issue 16 item 6).

  bench/pg_follow.py --a URL --b URL --token TOKEN --project P --region R
                     [--writes 200] [--ep EP] [--pause-ms 20]

Each write is one new image (one vulnerability) POSTed to A's scan-results;
when A has answered 200 the clock starts (time.monotonic_ns). Two phases of
--writes writes each:

  follower  B's GET /metrics is polled back to back until
            imgsec_index_position reaches the write's change-log position:
            B's follower applied it with no request asking (a scrape never
            syncs the index). This is what LISTEN/NOTIFY changes.
  request   B's statistic of the EP is asked back to back until its
            total_num includes the write: what a client sees. By the
            freshness rule the first answer must already include it
            (first_ok counts those); the latency is that answer's.

The write's position is A's change-log position before the phase plus the
writes so far (each write appends exactly one change-log row; checked at
the end of the phase against A's /metrics, so another writer spoils the
run loudly). A pause of --pause-ms (uniform 0..2x) between writes puts
each write at a random phase of a polling follower.

Prints one line per phase:
  RESULT phase=follower writes=N p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
         mean_ms=.. polls_per_write=.. [first_ok=N]
"""
import argparse
import http.client
import json
import random
import sys
import time
import urllib.parse


def conn(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def request(c, method, path, body=None, headers=None):
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    return r.status, data


def metric(c, name):
    st, data = request(c, "GET", "/metrics")
    if st != 200:
        sys.exit("GET /metrics: %d" % st)
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    sys.exit("GET /metrics: no %s" % name)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--project", required=True)
    ap.add_argument("--region", required=True)
    ap.add_argument("--writes", type=int, default=200)
    ap.add_argument("--ep", default="follow-bench")
    ap.add_argument("--pause-ms", type=float, default=20)
    ap.add_argument("--phases", default="follower,request")
    o = ap.parse_args()
    ca, cb = conn(o.a), conn(o.b)
    auth = {"X-Auth-Token": o.token, "region": o.region}
    ingest = "/v5/%s/image/scan-results?enterprise_project_id=%s" % (o.project, o.ep)
    stat = "/v5/%s/image/security-report/statistic?security_report_type=vulnerability" \
           "&enterprise_project_id=%s" % (o.project, o.ep)
    stat_body = json.dumps({"operate_all": True})
    run = "%x" % random.getrandbits(48)

    def total_on_b():
        st, data = request(cb, "POST", stat, stat_body,
                           dict(auth, **{"Content-Type": "application/json"}))
        if st != 200:
            sys.exit("statistic on B: %d %s" % (st, data[:200]))
        return json.loads(data)["total_num"]

    total = total_on_b()
    for phase in o.phases.split(","):
        pos0 = metric(ca, "imgsec_changelog_position")
        lat, polls, first_ok = [], 0, 0
        for i in range(1, o.writes + 1):
            time.sleep(random.uniform(0, 2 * o.pause_ms) / 1000.0)
            doc = {"image": {"image_type": "private_image", "namespace": "bench",
                             "image_name": "follow-%s-%s-%d" % (run, phase, i),
                             "image_version": "1", "scan_status": "success"},
                   "vulnerabilities": [{"vul_id": "CVE-2024-%d" % i, "vul_type": "linux_vul",
                                        "severity": "low"}]}
            st, data = request(ca, "POST", ingest, json.dumps(doc),
                               dict(auth, **{"Content-Type": "application/json"}))
            t0 = time.monotonic_ns()
            if st != 200:
                sys.exit("ingest on A: %d %s" % (st, data[:200]))
            total += 1
            n = 0
            if phase == "follower":
                want = pos0 + i
                while True:
                    n += 1
                    if metric(cb, "imgsec_index_position") >= want:
                        break
            else:
                while True:
                    n += 1
                    if total_on_b() >= total:
                        break
                first_ok += n == 1
            lat.append((time.monotonic_ns() - t0) / 1e6)
            polls += n
        pos1 = metric(ca, "imgsec_changelog_position")
        if pos1 != pos0 + o.writes:
            sys.exit("A's change log moved by %d for %d writes: another writer?"
                     % (pos1 - pos0, o.writes))
        extra = " first_ok=%d" % first_ok if phase == "request" else ""
        print("RESULT phase=%s writes=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f "
              "mean_ms=%.2f polls_per_write=%.1f%s"
              % (phase, len(lat), pct(lat, 50), pct(lat, 90), pct(lat, 99), max(lat),
                 sum(lat) / len(lat), polls / len(lat), extra), flush=True)


if __name__ == "__main__":
    main()
