#!/usr/bin/env bash
# packaging/kestrel.yaml, installed as /etc/kestrel/kestrel.yaml, against `kestrel config check`:
# as shipped (everything commented) it sets nothing; with every commented key line uncommented,
# every key is one the configuration reader accepts, with a valid value; and it shows every key
# the reader knows (the top-level ones and all of `run.`), so a new key cannot be left out.
# Usage: kestrel_yaml_test.sh KESTREL_BINARY SOURCE_DIR
set -euo pipefail
kestrel=$1
yaml=$2/packaging/kestrel.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

# 1. As shipped: valid, and the effective configuration is the defaults'.
echo '# no settings' >"$work/empty.yaml"
"$kestrel" --config "$work/empty.yaml" config check >"$work/defaults.txt" 2>/dev/null
"$kestrel" --config "$yaml" config check >"$work/shipped.txt" 2>"$work/err.txt" ||
  { cat "$work/err.txt"; err "the shipped file fails config check"; }
cmp -s "$work/defaults.txt" "$work/shipped.txt" ||
  err "the shipped file changes the defaults: $(diff "$work/defaults.txt" "$work/shipped.txt")"

# 2. Every commented key line ("# key: value", "#   - url: ...") uncommented.
sed -E 's/^# ?( *(- )?[a-z_][a-z0-9_]*:( |$))/\1/' "$yaml" >"$work/all.yaml"
keys=$(grep -cE '^ *(- )?[a-z_][a-z0-9_]*:( |$)' "$work/all.yaml" || true)
[ "$keys" -ge 40 ] || err "only $keys key lines uncommented"
if ! "$kestrel" --config "$work/all.yaml" config check >"$work/all.txt" 2>"$work/err.txt"; then
  cat "$work/err.txt" >&2
  err "a key of the file is not accepted by config check (the file with every key uncommented)"
fi
# The values were read: a few that differ from the defaults.
for want in 'metrics_addr: 127.0.0.1:9464' 'flight_recorder: 60s' 'url: file:/var/log/kestrel/alerts.ecs.jsonl' \
  'name: web-1.example.com'; do
  grep -qF "$want" "$work/all.txt" || err "config check of the uncommented file lacks '$want'"
done

# 3. Every key the reader knows is in the file: the reader lists them for an unknown key.
printf 'run:\n  zz_no_such_key: 1\n' >"$work/bad.yaml"
known=$({ "$kestrel" --config "$work/bad.yaml" config check 2>&1 >/dev/null || true; } | sed -n 's/.*(known: \(.*\))$/\1/p')
[ -n "$known" ] || err "no list of known run keys from config check"
for k in ${known//,/ }; do
  grep -qE "^  $k:" "$work/all.yaml" || err "run.$k is not in packaging/kestrel.yaml"
done
printf 'zz_no_such_key: 1\n' >"$work/bad.yaml"
known=$({ "$kestrel" --config "$work/bad.yaml" config check 2>&1 >/dev/null || true; } | sed -n 's/.*(known: \(.*\))$/\1/p')
for k in ${known//,/ }; do
  grep -qE "^$k:" "$work/all.yaml" || err "$k is not in packaging/kestrel.yaml"
done

[ $fail = 0 ] && echo "kestrel_yaml_test: ok ($keys key lines)"
exit $fail
