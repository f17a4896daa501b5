#!/usr/bin/env bash
# `kestrel ui` end to end through the real server on loopback ports (issue 25): the API (alerts
# with filters, alert detail with rule text and the events before it, process tree, hunt in
# `kestrel query --format json`'s shape, rules via --attach against a real `kestrel run
# --metrics-addr`, the event stream delivering an alert appended to an --alerts file) and the
# safety rules (paths, methods, token, non-loopback bind, Host check, CSP on every answer).
# Fixture: testdata/ui (9 events, 2 rules, 2 alerts). Lean: a few seconds.
# Usage: ui_test.sh KESTREL_BINARY SOURCE_DIR
set -u
kestrel=$1
src=$2
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
cd "$src" || exit 1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Starts `kestrel ui ARGS...` with its stderr in $tmp/$name.err; sets $base (http://127.0.0.1:P).
start_ui() {
  local name=$1
  shift
  "$kestrel" ui "$@" 2>"$tmp/$name.err" &
  pids+=($!)
  base=""
  for _ in $(seq 400); do
    base=$(grep -o 'open http://[^ ]*' "$tmp/$name.err" | head -1 | sed 's|open ||; s|/?token=.*||; s|/$||')
    [ -n "$base" ] && break
    sleep 0.05
  done
  [ -n "$base" ] || fail "$name: kestrel ui did not start: $(cat "$tmp/$name.err")"
}

# The fixture: a recording and the alerts of the two rules on it.
"$kestrel" record --source ndjson:testdata/ui/events.ndjson --output "$tmp/rec.klog" 2>/dev/null || fail "record"
"$kestrel" run --rules testdata/ui/rules --source ndjson:testdata/ui/events.ndjson \
  --output "$tmp/all.ndjson" 2>/dev/null || fail "run"
[ "$(wc -l <"$tmp/all.ndjson")" -eq 2 ] || fail "2 fixture alerts expected: $(cat "$tmp/all.ndjson")"
grep download_then_connect "$tmp/all.ndjson" >"$tmp/alerts.ndjson"
grep shell_html_in_command_line "$tmp/all.ndjson" >"$tmp/second.ndjson"
seq_id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$tmp/alerts.ndjson")
html_id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$tmp/second.ndjson")

start_ui main --logs "$tmp/rec.klog" --alerts "$tmp/alerts.ndjson" --rules testdata/ui/rules --listen 127.0.0.1:0
grep -q 'indexed 9 events (9 held, 0 past --max-events), 7 processes, 1 alerts' "$tmp/main.err" || fail "index line: $(cat "$tmp/main.err")"
get() { curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@"; }
csp="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
check_headers() {
  grep -qiF "Content-Security-Policy: $csp" "$tmp/headers" || fail "$1: no CSP: $(cat "$tmp/headers")"
  grep -qi '^X-Content-Type-Options: nosniff' "$tmp/headers" || fail "$1: no nosniff"
  grep -qi '^Referrer-Policy: no-referrer' "$tmp/headers" || fail "$1: no Referrer-Policy"
}

# The API.
[ "$(get "$base/api/alerts")" = 200 ] || fail "alerts"
check_headers /api/alerts
python3 - "$tmp/body" "$seq_id" <<'PY' || fail "alerts list: $(cat "$tmp/body")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["total"] == 1 and d["alerts"][0]["id"] == sys.argv[2], d
a = d["alerts"][0]
assert a["rule_id"] == "download_then_connect" and a["severity"] == "high" and a["host"] == "ui-host", a
assert a["tactics"] == ["Command and Control"] and a["evidence"] == ["p-2120"], a
assert d["histogram"]["rules"][0]["total"] == 1, d["histogram"]
PY
[ "$(get "$base/api/alerts?severity=low")" = 200 ] && grep -q '"total":0' "$tmp/body" || fail "severity filter: $(cat "$tmp/body")"
[ "$(get "$base/api/alerts?tactic=Command%20and%20Control&host=ui-host&from=2026-03-01T00:00:00Z")" = 200 ] && grep -q '"total":1' "$tmp/body" || fail "tactic/host/from filter: $(cat "$tmp/body")"
[ "$(get "$base/api/alerts?to=2026-03-01T00:00:00Z")" = 200 ] && grep -q '"total":0' "$tmp/body" || fail "to filter"
[ "$(get "$base/api/alert/$seq_id")" = 200 ] || fail "alert detail"
check_headers /api/alert
python3 - "$tmp/body" <<'PY' || fail "alert detail: $(head -c 2000 "$tmp/body")"
import json, sys
d = json.load(open(sys.argv[1]))
assert "sequence by process.entity_id" in d["rule_text"], d.get("rule_text")
assert len(d["alert"]["events"]) == 2, d["alert"]
names = [f["event"]["process"]["name"] for f in d["flight"]]
assert names[:3] == ["systemd", "sshd", "bash"] and "curl" in names, names
PY
[ "$(get "$base/api/tree?key=p-2101&alert=$seq_id&depth=3")" = 200 ] || fail "tree"
python3 - "$tmp/body" <<'PY' || fail "tree: $(cat "$tmp/body")"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["root"]
assert r["name"] == "bash" and r["parent"] == "p-410" and r["user"] == "alice", r
assert [a["name"] for a in d["ancestors"]] == ["sshd", "systemd"], d["ancestors"]
kids = {c["name"]: c for c in r["children"]}
assert set(kids) == {"ls", "curl", "sh"}, kids.keys()
assert kids["curl"]["evidence"] is True and kids["ls"]["evidence"] is False
assert r["children"][0]["name"] == "curl", "evidence first"
assert kids["sh"]["children"][0]["name"] == "chmod" and kids["sh"]["children"][0]["parent"] == "p-2130"
PY
# The hunt: kestrel query's path and shape (all but `took`).
q='sequence by process.entity_id [process where process.name == "curl"] [network where true]'
[ "$(get -G "$base/api/hunt" --data-urlencode "q=$q")" = 200 ] || fail "hunt: $(cat "$tmp/body")"
"$kestrel" query --format json "$q" "$tmp/rec.klog" >"$tmp/query.json" 2>/dev/null || fail "query"
python3 - "$tmp/body" "$tmp/query.json" <<'PY' || fail "hunt differs from kestrel query"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
a.pop("took"); b.pop("took")
assert a == b, (a, b)
assert a["hits"]["sequences"][0]["join_keys"] == ["p-2120"], a
PY
[ "$(get -G "$base/api/hunt" --data-urlencode 'q=process where process.name ==')" = 400 ] || fail "a bad hunt is not 400"
grep -q 'query:1:' "$tmp/body" && grep -q '\^' "$tmp/body" || fail "hunt error without position and caret: $(cat "$tmp/body")"
code=$(get -G "$base/api/hunt" --data-urlencode "q=$(head -c 20000 /dev/zero | tr '\0' a)")
case $code in 413|414) ;; *) fail "a 20 kB query is not refused: $code" ;; esac

# A flight-recorder-like directory whose two recordings overlap: the alert view shows each event
# once.
mkdir "$tmp/flight"
cp "$tmp/rec.klog" "$tmp/flight/a.klog"
cp "$tmp/rec.klog" "$tmp/flight/b.klog"
main_base=$base
start_ui flight --logs "$tmp/flight" --alerts "$tmp/alerts.ndjson" --listen 127.0.0.1:0
[ "$(get "$base/api/alert/$seq_id")" = 200 ] || fail "alert over a directory"
python3 - "$tmp/body" <<'PY' || fail "overlapping recordings: $(head -c 1500 "$tmp/body")"
import json, sys
d = json.load(open(sys.argv[1]))
names = [f["event"]["process"]["name"] for f in d["flight"]]
assert names[:3] == ["systemd", "sshd", "bash"] and len(names) == len(set((f["timestamp_ns"], f["event"]["process"]["name"]) for f in d["flight"])), names
PY
base=$main_base

# Safety.
for path in '/api/../etc/passwd' '/%2e%2e/%2e%2e/etc/passwd' '/api/alert/..%2f..%2fetc%2fpasswd' \
            '/etc/passwd' '/api/tree?key=/etc/passwd' '/..%5c..%5cetc%5cpasswd' '/api/alert/%00'; do
  code=$(get --path-as-is "$base$path")
  case $code in 400|404) ;; *) fail "$path gave $code" ;; esac
  check_headers "$path"
  grep -q 'root:' "$tmp/body" && fail "$path leaked a file"
done
[ "$(get -X POST --data x "$base/api/alerts")" = 405 ] || fail "POST not refused"
check_headers POST
[ "$(get -X DELETE "$base/api/alert/$seq_id")" = 405 ] || fail "DELETE not refused"
[ "$(get -H 'Host: rebind.example.com' "$base/api/alerts")" = 421 ] || fail "a foreign Host header is not refused"
[ "$(get "$base/api/rules")" = 503 ] || fail "rules without --attach"
[ "$(get "$base/")" = 200 ] && check_headers / && ! grep -qi '<script>' "$tmp/body" && ! grep -qi ' style=' "$tmp/body" || fail "the page holds an inline script or style"
"$kestrel" ui --listen 0.0.0.0:0 --alerts "$tmp/alerts.ndjson" 2>"$tmp/remote.err"
[ $? -eq 2 ] || fail "a non-loopback --listen without a token does not exit 2"
grep -q 'not a loopback address.*--token-file' "$tmp/remote.err" || fail "remote refusal message: $(cat "$tmp/remote.err")"
"$kestrel" ui --alerts /dev/zero 2>"$tmp/zero.err"
[ $? -eq 2 ] && grep -q 'not a regular file' "$tmp/zero.err" || fail "--alerts /dev/zero: $(cat "$tmp/zero.err")"
"$kestrel" ui --attach nowhere --alerts "$tmp/alerts.ndjson" 2>/dev/null
[ $? -eq 2 ] || fail "a malformed --attach address is accepted"
ln -s "$tmp/alerts.ndjson" "$tmp/link.ndjson"
printf 'short\n' >"$tmp/short.token"
"$kestrel" ui --token-file "$tmp/short.token" --alerts "$tmp/alerts.ndjson" 2>/dev/null
[ $? -eq 2 ] || fail "a short token is accepted"
token=0123456789abcdef-ui-test-token
(umask 077; echo "$token" >"$tmp/token")
start_ui token --alerts "$tmp/alerts.ndjson" --listen 127.0.0.1:0 --token-file "$tmp/token"
[ "$(grep -c "open http://127.0.0.1:[0-9]*/?token=$token" "$tmp/token.err")" = 1 ] || fail "the access URL is not printed once: $(cat "$tmp/token.err")"
for path in / /app.js /api/alerts "/api/alert/$seq_id"; do
  [ "$(get "$base$path")" = 401 ] || fail "$path without the token is not 401"
  check_headers "401 $path"
done
[ "$(get "$base/api/alerts?token=wrong-$token")" = 401 ] || fail "a wrong token is accepted"
[ "$(get -H "Authorization: Bearer $token" "$base/api/alerts")" = 200 ] || fail "the bearer token is refused"
[ "$(get "$base/?token=$token")" = 200 ] && grep -q "app.js?token=$token" "$tmp/body" || fail "the page does not carry the token to its script"

# Live: the stream delivers an alert appended to the --alerts file, and the attached instance's
# rule figures (a real kestrel run with --metrics-addr, its input held open).
mport=$(free_port)
mkfifo "$tmp/feed"
"$kestrel" run --rules testdata/ui/rules --source "ndjson:$tmp/feed" \
  --metrics-addr "127.0.0.1:$mport" --output "$tmp/live.ndjson" 2>"$tmp/run.err" &
pids+=($!)
exec 3>"$tmp/feed"  # held open until the end: the run goes on
cat testdata/ui/events.ndjson >&3
for _ in $(seq 100); do curl -s "127.0.0.1:$mport/metrics" | grep -q 'kestrel_rule_alerts_total{rule="shell_html_in_command_line"} 1' && break; sleep 0.05; done
start_ui live --alerts "$tmp/link.ndjson" --attach "127.0.0.1:$mport" --listen 127.0.0.1:0
[ "$(get "$base/api/rules")" = 200 ] || fail "rules via --attach: $(cat "$tmp/body")"
python3 - "$tmp/body" <<'PY' || fail "rules: $(cat "$tmp/body")"
import json, sys
d = json.load(open(sys.argv[1]))
r = {x["rule_id"]: x for x in d["rules"]}
assert set(r) == {"download_then_connect", "shell_html_in_command_line"}, r
assert r["download_then_connect"]["alerts"] == 1 and r["shell_html_in_command_line"]["alerts"] == 1, r
assert d["events"] == 9 and d["rule_set_version"] == 1 and d["loaded_at"].startswith("20"), d
assert all(x["evaluations"] >= 0 and "mean_ns" in x for x in r.values()), r
PY
curl -s -N --max-time 2 "$base/api/stream" >"$tmp/stream" 2>/dev/null &
stream_pid=$!
sleep 0.5
cat "$tmp/second.ndjson" >>"$tmp/alerts.ndjson"
wait $stream_pid
grep -q "^event: alert" "$tmp/stream" && grep -q "\"id\":\"$html_id\"" "$tmp/stream" || fail "the stream did not deliver the appended alert: $(head -c 1000 "$tmp/stream")"
grep -q '^event: rules' "$tmp/stream" && grep -q '"rule_id":"download_then_connect"' "$tmp/stream" || fail "the stream has no rule figures"
grep -q "\"id\":\"$seq_id\"" "$tmp/stream" && fail "the stream repeated an alert read at start"
[ "$(get "$base/api/alerts")" = 200 ] && grep -q '"total":2' "$tmp/body" || fail "the appended alert is not in the list"

exec 3>&-
[ "$failures" -eq 0 ] && echo "ui: all checks passed"
exit $((failures > 0))
