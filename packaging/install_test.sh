#!/usr/bin/env bash
# `cmake --install` lays out what docs/deployment.md says, staged with DESTDIR and the package's
# prefix (/usr): the binary, the default rule pack, /etc/kestrel/kestrel.yaml (0600), kestrel(1),
# the bash completion, the docs, and the systemd unit naming the installed binary and docs; a
# second install keeps the configuration file as edited. The installed binary, run from a
# directory without rules/, finds the installed pack and alerts on the demo events.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

root=$work/root
DESTDIR=$root cmake --install "$build" --prefix /usr >"$work/install.log"
for f in usr/bin/kestrel etc/kestrel/kestrel.yaml usr/share/man/man1/kestrel.1.gz \
  usr/share/bash-completion/completions/kestrel usr/lib/systemd/system/kestrel.service \
  usr/share/doc/kestrel/README.md usr/share/doc/kestrel/deployment.md \
  usr/share/doc/kestrel/configuration.md usr/share/doc/kestrel/copyright \
  usr/share/doc/kestrel/changelog.gz usr/share/kestrel/rules/README.md; do
  [ -f "$root/$f" ] || err "not installed: /$f"
done
[ -x "$root/usr/bin/kestrel" ] || err "/usr/bin/kestrel is not executable"
want=$(find "$src/rules" -name '*.eql' | wc -l)
got=$(find "$root/usr/share/kestrel/rules" -name '*.eql' | wc -l)
[ "$want" = "$got" ] && [ "$got" -gt 0 ] || err "installed $got rules of $want"
mode=$(stat -c %a "$root/etc/kestrel/kestrel.yaml")
[ "$mode" = 600 ] || err "/etc/kestrel/kestrel.yaml has mode $mode, want 600"
cmp -s "$src/packaging/kestrel.yaml" "$root/etc/kestrel/kestrel.yaml" || err "kestrel.yaml differs"

# A second install keeps the operator's configuration.
echo 'log_level: warn' >"$root/etc/kestrel/kestrel.yaml"
DESTDIR=$root cmake --install "$build" --prefix /usr >"$work/install2.log"
[ "$(cat "$root/etc/kestrel/kestrel.yaml")" = 'log_level: warn' ] ||
  err "a second cmake --install overwrote /etc/kestrel/kestrel.yaml"
grep -q 'Kept: .*/etc/kestrel/kestrel.yaml' "$work/install2.log" || err "no 'Kept:' message"
cp "$src/packaging/kestrel.yaml" "$root/etc/kestrel/kestrel.yaml"

unit=$root/usr/lib/systemd/system/kestrel.service
grep -qx 'ExecStart=/usr/bin/kestrel --config /etc/kestrel/kestrel.yaml run' "$unit" ||
  err "the unit's ExecStart is not the installed binary: $(grep ExecStart= "$unit")"
grep -qx 'Documentation=man:kestrel(1) file:///usr/share/doc/kestrel/deployment.md' "$unit" ||
  err "the unit's Documentation is not the installed docs: $(grep Documentation= "$unit")"
grep -q '@' "$unit" && grep -n '@KESTREL' "$unit" && err "the unit has unfilled @...@ variables"
grep -q 'WantedBy=multi-user.target' "$unit" || err "the unit has no [Install] WantedBy"
# Every path the unit names exists in the staged tree.
for p in $(grep -oE '(/usr/[a-z/]+/kestrel|/usr/share/doc/kestrel/[a-z]+\.md)' "$unit" | sort -u); do
  [ -e "$root$p" ] || err "the unit names $p, which is not installed"
done
zcat "$root/usr/share/man/man1/kestrel.1.gz" | grep -q '^\.TH KESTREL 1' || err "kestrel.1.gz is not a man page"
grep -q '^complete -F _kestrel kestrel$' "$root/usr/share/bash-completion/completions/kestrel" ||
  err "the completion does not register _kestrel"
# The generated files are the binary's own output (they cannot drift from it).
echo '# none' >"$work/empty.yaml"
"$root/usr/bin/kestrel" --config "$work/empty.yaml" __man |
  cmp -s - <(zcat "$root/usr/share/man/man1/kestrel.1.gz") || err "installed man page is stale"

# The installed binary finds the installed pack (no rules/ in the working directory).
mkdir "$work/cwd"
(cd "$work/cwd" && "$root/usr/bin/kestrel" --config "$work/empty.yaml" run --workers 1 \
  --source "ndjson:$src/examples/demo-events.ndjson" >"$work/alerts.jsonl" 2>"$work/run.log") ||
  { cat "$work/run.log"; err "the installed binary failed on the demo events"; }
grep -q "rule directory $root/usr/bin/../share/kestrel/rules" "$work/run.log" ||
  err "the installed binary did not use the installed pack: $(head -1 "$work/run.log")"
[ -s "$work/alerts.jsonl" ] || err "no alert on the demo events"

[ $fail = 0 ] && echo "install_test: ok ($(find "$root" -type f | wc -l) files, $got rules)"
exit $fail
