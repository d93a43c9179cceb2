# bench/lib.sh - shell pieces the bench scripts share; sourced, not run.

# bench_token URL DOMAIN NAME PASSWORD PROJECT: prints a Keystone token
# for the user, or nothing when the server refused.
bench_token() {
  curl -sS -D - -o /dev/null -H 'Content-Type: application/json' "$1/v3/auth/tokens" \
    -d "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": {\"name\": \"$3\", \"password\": \"$4\", \"domain\": {\"name\": \"$2\"}}}}, \"scope\": {\"project\": {\"id\": \"$5\"}}}}" |
    tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p'
}

# bench_imgsecd LOG PORT_FILE IMGSECD [FLAGS...]: starts IMGSECD FLAGS
# --port-file PORT_FILE in the background, its standard error to LOG, and
# waits until it listens; sets bench_pid and bench_url. Fails (printing
# LOG) if it dies first. The caller kills bench_pid.
bench_imgsecd() {
  local log=$1 portf=$2; shift 2
  rm -f "$portf"
  "$@" --port-file "$portf" 2>"$log" &
  bench_pid=$!
  while [ ! -s "$portf" ]; do
    kill -0 "$bench_pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.05
  done
  bench_url="http://127.0.0.1:$(cat "$portf")"
}
