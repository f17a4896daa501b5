#!/usr/bin/env bash
# kestrel(1) and the bash completion are generated from the command definitions (docgen.h):
# every subcommand and every flag that `--help` shows, at every level, appears in both, in the
# right command's place; hidden subcommands appear in neither; the page formats without a groff
# warning; and the completion, run under bash, completes subcommands, flags and choices.
# Usage: docgen_test.sh KESTREL_BINARY
set -euo pipefail
kestrel=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

echo '# no settings' >"$work/empty.yaml"
k() { "$kestrel" --config "$work/empty.yaml" "$@"; }
k __man --output "$work/kestrel.1"
k __completion bash --output "$work/kestrel.bash"
[ -s "$work/kestrel.1" ] || err "empty man page"
[ -s "$work/kestrel.bash" ] || err "empty completion script"
k __completion zsh >/dev/null 2>&1 && err "__completion accepted an unsupported shell"

# The command tree as --help shows it: "path|flag flag ...|sub sub ...".
help_section() {  # $1: section title ("Options", "Subcommands"); reads help text on stdin
  awk -v sec="$1:" '$0 == sec {on = 1; next} /^[A-Z][A-Za-z ]*:$/ {on = 0} /^$/ {on = 0}
                    on && /^  [^ ]/ {print}'
}
declare -a paths=("")
declare -A flags subs
i=0
while [ $i -lt ${#paths[@]} ]; do
  p=${paths[$i]}
  i=$((i + 1))
  # shellcheck disable=SC2086
  h=$(k $p --help)
  key="kestrel${p:+ $p}"
  flags[$key]=$(help_section Options <<<"$h" | awk '{print $1}' | tr ',' '\n' | grep -E '^-' || true)
  subs[$key]=$(help_section Subcommands <<<"$h" | awk '{print $1}' || true)
  for s in ${subs[$key]}; do
    # `kestrel help CMD` is `kestrel CMD --help` (usage.h), so `help --help` shows the top
    # level again: `help` is checked as a subcommand below, but not walked into.
    [ -z "$p" ] && [ "$s" = help ] && continue
    paths+=("${p:+$p }$s")
  done
done
[ ${#paths[@]} -ge 12 ] || err "only ${#paths[@]} commands found in --help: ${paths[*]}"
for f in --help --version --log-level --config; do
  grep -qx -- "$f" <<<"${flags[kestrel]}" || err "--help parse: global flag $f not found"
done

roff() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' <<<"$1"; }
# The man page part of one command: from its .SS heading to the next heading.
man_part() {
  if [ -z "$1" ]; then
    awk '/^\.SH OPTIONS/ {on = 1; next} /^\.S[HS] / {on = 0} on' "$work/kestrel.1"
  else
    local head
    head=".SS \"kestrel $(roff "$1")\""
    awk -v h="$head" '$0 == h {on = 1; next} /^\.S[HS] / {on = 0} on' "$work/kestrel.1"
  fi
}
source "$work/kestrel.bash"
checked=0
for p in "${paths[@]}"; do
  part=$(man_part "$p")
  [ -n "$part" ] || err "man page: no section for 'kestrel $p'"
  key="kestrel${p:+ $p}"
  cflags=" $(_kestrel_flags "$key") "
  csubs=" $(_kestrel_subcommands "$key") "
  for f in ${flags[$key]}; do
    grep -qF -- "\\fB$(roff "$f")\\fR" <<<"$part" || err "man page: 'kestrel $p' lacks $f"
    [[ "$cflags" == *" $f "* ]] || err "completion: '$key' lacks $f (has:$cflags)"
    checked=$((checked + 1))
  done
  for s in ${subs[$key]}; do
    [[ "$csubs" == *" $s "* ]] || err "completion: '$key' lacks subcommand $s"
    grep -qxF -- ".SS \"kestrel $(roff "${p:+$p }$s")\"" "$work/kestrel.1" ||
      err "man page: no section for 'kestrel ${p:+$p }$s'"
    checked=$((checked + 1))
  done
done
echo "checked $checked flags and subcommands of ${#paths[@]} commands"
[ $checked -ge 60 ] || err "only $checked flags and subcommands checked"
grep -q '__man\|__completion' "$work/kestrel.1" && err "man page shows a hidden command"
[[ " $(_kestrel_subcommands kestrel) " == *" __"* ]] && err "completion offers a hidden command"

if command -v groff >/dev/null; then
  warnings=$(groff -man -ww -z "$work/kestrel.1" 2>&1 || true)
  [ -z "$warnings" ] || err "groff warnings: $warnings"
fi

# The completion as bash runs it: COMP_WORDS up to the cursor, then _kestrel.
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _kestrel
  echo "${COMPREPLY[*]}"
}
expect() {  # expect WANT WORDS...: the completions, sorted, equal WANT
  local want=$1 got
  shift
  got=$(complete_words "$@" | tr ' ' '\n' | sort | tr '\n' ' ')
  got=${got% }
  [ "$got" = "$want" ] || err "completing '$*': got '$got', want '$want'"
}
expect "record replay rules run" kestrel r
expect "cat info" kestrel log ""
expect "check" kestrel config ""
expect "debug" kestrel --log-level d
expect "debug" kestrel --log-level = d
expect "block drop" kestrel run --queue-full ""
expect "--metrics-addr --metrics-allow-remote" kestrel run --metrics
expect "cat info" kestrel --config x.yaml log ""
expect "--help" kestrel log info --h
mkdir "$work/cwd" && touch "$work/cwd/demo.ndjson"
got=$(cd "$work/cwd" && complete_words kestrel run --source de)
[ "$got" = demo.ndjson ] || err "completing a file value: got '$got'"

[ $fail = 0 ] && echo "docgen_test: ok"
exit $fail
