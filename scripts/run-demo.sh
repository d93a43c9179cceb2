#!/usr/bin/env bash
# make run: a fresh demo database, a demo user, and imgsecd in the foreground.
set -euo pipefail
build=${1:-build}
listen=${IMGSEC_LISTEN:-127.0.0.1:8080}
region=${IMGSEC_REGION:-local-1}
dir=demo
db=$dir/imgsec.db
base="http://$listen"

mkdir -p "$dir"
rm -f "$db" "$db-wal" "$db-shm"
"$build/imgsec" demo --db "$db" --project demo --images 300 --seed 1 --eps 0,ep-dev,ep-prod
IMGSEC_PASSWORD=demo-password "$build/imgsec" user add --db "$db" \
  --domain demo --name alice --project demo --role admin --eps all
IMGSEC_PASSWORD=demo-password "$build/imgsec" user add --db "$db" \
  --domain demo --name bob --project demo --role reader --eps 0

cat <<MSG

imgsec demo: 300 images in project "demo" (EPs 0, ep-dev, ep-prod), database $db.
Users (domain "demo", password "demo-password"): alice (admin, all EPs), bob (reader, EP 0).

The web console: $base/console/
  sign in with domain "demo", user "alice", password "demo-password", project "demo",
  region "$region".

In another terminal, copy and paste:

# 1. Get a token (Keystone v3, as the cloud IAM):
TOKEN=\$(curl -s -D - -o /dev/null -X POST $base/v3/auth/tokens \\
  -H 'Content-Type: application/json' \\
  -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","password":"demo-password","domain":{"name":"demo"}}}},"scope":{"project":{"id":"demo"}}}}' \\
  | awk 'tolower(\$1)=="x-subject-token:"{print \$2}' | tr -d '\\r')

# 2. The seed's example request: vulnerability records of every image in EP "0":
curl -s -X POST "$base/v5/demo/image/security-report/statistic?security_report_type=vulnerability" \\
  -H "X-Auth-Token: \$TOKEN" -H 'region: $region' -H 'Content-Type: application/json' \\
  -d '{"operate_all": true}'; echo

# 3. Across all granted EPs, high-risk images with running containers:
curl -s -X POST "$base/v5/demo/image/security-report/statistic?security_report_type=vulnerability&enterprise_project_id=all_granted_eps" \\
  -H "X-Auth-Token: \$TOKEN" -H 'region: $region' -H 'Content-Type: application/json' \\
  -d '{"operate_all": true, "severity_level": "High", "has_container": true}'; echo

# 4. Build-command risks at level high, latest versions only:
curl -s -X POST "$base/v5/demo/image/security-report/statistic?security_report_type=build-command-risks&enterprise_project_id=all_granted_eps" \\
  -H "X-Auth-Token: \$TOKEN" -H 'region: $region' -H 'Content-Type: application/json' \\
  -d '{"operate_all": true, "latest_version": true, "build_command_risk_level": "high"}'; echo

Stop the server with Ctrl-C. Starting imgsecd on $listen (region $region):
MSG
exec "$build/imgsecd" --db "$db" --listen "$listen" --region "$region"
