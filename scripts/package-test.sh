#!/usr/bin/env bash
# The .deb in a clean Debian 12 root (issue 22 item 3; docs/deployment.md), as scripts/test.sh
# runs it after the release build:
#   1. `cpack -G DEB` in the build directory (Depends from dpkg-shlibdeps);
#   2. a fresh minimal Debian 12 (bookworm) root from Debian's mirror (mmdebstrap
#      --variant=minbase, discarded afterwards: nothing is cached, every run starts cold);
#   3. inside it (this script again, with --inside): `apt-get install ./kestrel_*.deb`, so the
#      Depends are resolved from the mirror; the maintainer scripts' directories (0700 root), the
#      conffile, the service neither enabled nor started (systemd's tools stand-ins log what the
#      scripts ask: daemon-reload on install, stop on remove); `kestrel --version`, `kestrel doctor`,
#      `kestrel run --source ndjson:<the demo events>` with a non-empty alert output, and the
#      bash completion; an edited config kept over a reinstall; then `dpkg -r kestrel` leaves
#      no file but the configuration (`dpkg -L` before, `find` after) and `dpkg -P kestrel`
#      leaves nothing.
# Needs root (mmdebstrap's root mode: chroot, mounts) and the mirror. Usage:
#   scripts/package-test.sh [BUILD_DIR]      (default build/release; already built)
# Environment: KESTREL_DEBIAN_MIRROR, a mirror URL or an apt sources file for the root (default:
# mmdebstrap's, Debian's own mirror with the updates and security suites).
set -euo pipefail

# ---- inside the root ------------------------------------------------------------------------
if [ "${1:-}" = --inside ]; then
  deb=$2
  demo=$3
  export DEBIAN_FRONTEND=noninteractive
  fail=0
  err() { echo "FAIL (in the Debian 12 root): $*" >&2; fail=1; }
  # The files of the root, but for what the package manager and this test keep for themselves.
  snapshot() {
    find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
      -o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache -o -path /var/log/apt \
      -o -path /var/log/dpkg.log -o -path /var/log/alternatives.log \) -prune -o -print | sort
  }
  # Every path some installed package owns.
  owned() { cat /var/lib/dpkg/info/*.list | sort -u; }

  # A systemd that runs, as the maintainer scripts see it: /run/systemd/system and stand-ins for
  # systemctl and deb-systemd-invoke that log their calls, so that what the scripts ask of
  # systemd is checked (no systemd runs in this root).
  mkdir -p /run/systemd/system
  for tool in systemctl deb-systemd-invoke; do
    printf '#!/bin/sh\necho "%s $*" >>/tmp/systemd-calls.log\n' "$tool" >/usr/local/sbin/$tool
    chmod 0755 /usr/local/sbin/$tool
  done
  export PATH=/usr/local/sbin:$PATH
  : >/tmp/systemd-calls.log
  snapshot >/tmp/before.txt
  # (apt gives dpkg a PATH of its own, DPkg::Path: the stand-ins' directory is added to it.)
  apt-get install -y -q --no-install-recommends -o DPkg::Path="$PATH" "$deb" >/tmp/apt.log 2>&1 ||
    { cat /tmp/apt.log; echo "FAIL: apt-get install $deb" >&2; exit 1; }
  echo "installed: $(dpkg-query -W -f='${Package} ${Version} ${Architecture}' kestrel)," \
    "$(grep -c '^Setting up' /tmp/apt.log) packages set up"
  echo "Depends: $(dpkg-query -W -f='${Depends}' kestrel)"

  # The maintainer scripts: state and log directories, root only; the unit neither enabled nor
  # started (no systemd runs here: the scripts must not need it).
  calls=$(tr '\n' ';' </tmp/systemd-calls.log)
  grep -qx 'systemctl --system daemon-reload' /tmp/systemd-calls.log ||
    err "postinst did not reload systemd's units (calls: $calls)"
  grep -E 'start|enable|restart' /tmp/systemd-calls.log && err "installing asked systemd: $calls"
  for d in /var/lib/kestrel /var/lib/kestrel/spool /var/log/kestrel; do
    got=$(stat -c '%a %U:%G' "$d" 2>/dev/null || echo missing)
    [ "$got" = "700 root:root" ] || err "$d: $got, want 700 root:root"
  done
  [ -f /usr/lib/systemd/system/kestrel.service ] || err "no /usr/lib/systemd/system/kestrel.service"
  ls /etc/systemd/system/*.wants/kestrel.service 2>/dev/null && err "the package enabled kestrel.service"
  dpkg-query -W -f='${Conffiles}\n' kestrel | grep -q '^ /etc/kestrel/kestrel.yaml ' ||
    err "/etc/kestrel/kestrel.yaml is not a conffile"
  [ "$(stat -c %a /etc/kestrel/kestrel.yaml)" = 600 ] || err "/etc/kestrel/kestrel.yaml is not 0600"

  # The commands the issue names, as an operator runs them (the shipped config file is read).
  kestrel --version || err "kestrel --version failed"
  kestrel doctor >/tmp/doctor.txt 2>&1 || { cat /tmp/doctor.txt; err "kestrel doctor failed"; }
  grep -q '^What Kestrel can do here' /tmp/doctor.txt || err "kestrel doctor printed no summary"
  echo "doctor: $(grep -c '^ok ' /tmp/doctor.txt) ok, $(grep -c '^no ' /tmp/doctor.txt) no"
  (cd / && kestrel run --source "ndjson:$demo" >/tmp/alerts.jsonl 2>/tmp/run.log) ||
    { cat /tmp/run.log; err "kestrel run failed"; }
  alerts=$(grep -c '"rule_id"' /tmp/alerts.jsonl || true)
  [ "$alerts" -gt 0 ] || { cat /tmp/run.log; err "kestrel run wrote no alert"; }
  grep -q 'rule directory /usr/bin/../share/kestrel/rules: [1-9][0-9]* rules loaded, 0 failed' \
    /tmp/run.log || err "the installed rule pack was not used: $(grep 'rule directory' /tmp/run.log)"
  echo "run: $alerts alerts on the demo events"
  kestrel config check >/dev/null 2>&1 || err "kestrel config check fails on the shipped file"
  zcat /usr/share/man/man1/kestrel.1.gz | grep -q '^\.TH KESTREL 1' || err "no kestrel(1)"
  # shellcheck disable=SC1091
  subs=$(bash -c 'source /usr/share/bash-completion/completions/kestrel
    COMP_WORDS=(kestrel lo); COMP_CWORD=1; _kestrel; echo "${COMPREPLY[*]}"')
  [ "$subs" = log ] || err "bash completion of 'kestrel lo': '$subs'"

  # An edited configuration survives a reinstall (an upgrade's path through the maintainer
  # scripts: prerm upgrade, postinst configure), and the directories keep their modes.
  sed -i 's/^# log_level: info .*/log_level: warn/' /etc/kestrel/kestrel.yaml
  dpkg -i --force-confold "$deb" >/tmp/reinstall.log 2>&1 ||
    { cat /tmp/reinstall.log; err "reinstalling the package failed"; }
  kestrel config check 2>/dev/null | grep -qx 'log_level: warn' ||
    err "the edited /etc/kestrel/kestrel.yaml did not survive a reinstall"
  [ "$(stat -c %a /var/lib/kestrel)" = 700 ] || err "/var/lib/kestrel changed mode on reinstall"

  # dpkg -r: nothing of the package left but its configuration (and the state directories,
  # kept until purge as Debian does; they must hold no file).
  dpkg-query -L kestrel | sort >/tmp/files.txt
  dpkg -r kestrel >/tmp/remove.log 2>&1 || { cat /tmp/remove.log; err "dpkg -r kestrel failed"; }
  grep -qx 'deb-systemd-invoke stop kestrel.service' /tmp/systemd-calls.log ||
    err "dpkg -r did not stop kestrel.service (calls: $(tr '\n' ';' </tmp/systemd-calls.log))"
  echo "systemd calls: $(tr '\n' ';' </tmp/systemd-calls.log)"
  left=()
  while read -r f; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    [ -d "$f" ] && ! [ -L "$f" ] && continue  # directories: checked below with find
    [ "$f" = /etc/kestrel/kestrel.yaml ] && continue
    left+=("$f")
  done </tmp/files.txt
  [ ${#left[@]} = 0 ] || err "dpkg -r left files of the package: ${left[*]}"
  for d in /usr/share/kestrel /usr/share/doc/kestrel; do
    [ -e "$d" ] && err "dpkg -r left $d"
  done
  # find after: what is new since before the install and owned by no package (the libraries apt
  # installed for the Depends stay, owned by their packages).
  snapshot >/tmp/after.txt
  comm -13 /tmp/before.txt /tmp/after.txt | comm -23 - <(owned) >/tmp/new.txt
  unexpected=$(grep -vxE '/etc/kestrel|/etc/kestrel/kestrel.yaml|/var/lib/kestrel|/var/lib/kestrel/spool|/var/log/kestrel' \
    /tmp/new.txt || true)
  [ -z "$unexpected" ] || err "dpkg -r left, owned by no package: $(echo "$unexpected" | tr "\n" " ")"
  [ -f /etc/kestrel/kestrel.yaml ] || err "dpkg -r removed the configuration file"
  echo "dpkg -r: left $(wc -l </tmp/new.txt) paths: $(tr "\n" " " </tmp/new.txt)"

  # dpkg -P: the configuration and the state go too.
  dpkg -P kestrel >/tmp/purge.log 2>&1 || { cat /tmp/purge.log; err "dpkg -P kestrel failed"; }
  snapshot >/tmp/purged.txt
  comm -13 /tmp/before.txt /tmp/purged.txt | comm -23 - <(owned) >/tmp/new.txt
  [ -s /tmp/new.txt ] && err "dpkg -P left: $(tr "\n" " " </tmp/new.txt)"
  [ $fail = 0 ] && echo "package test inside the Debian 12 root: ok"
  exit $fail
fi

# ---- outside: build the .deb, make the root, run the part above in it -----------------------
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build/release}" && pwd)
mirror=()
[ -n "${KESTREL_DEBIAN_MIRROR:-}" ] && mirror=("$KESTREL_DEBIAN_MIRROR")
start=$(date +%s)
if [ "$(id -u)" != 0 ]; then
  echo "package-test: needs root (mmdebstrap's root mode, chroot)" >&2
  exit 1
fi
command -v mmdebstrap >/dev/null || { echo "package-test: mmdebstrap missing (scripts/install-deps.sh)" >&2; exit 1; }

rm -rf "$build/package"
(cd "$build" && cpack -G DEB >"$build/cpack.log" 2>&1) || { cat "$build/cpack.log"; exit 1; }
debs=("$build"/package/kestrel_*.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || { echo "package-test: no single .deb in $build/package" >&2; exit 1; }
deb=${debs[0]}
echo "package-test: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB, built in $(($(date +%s) - start)) s"
dpkg-deb -f "$deb" Depends | grep -q 'libc6' || { echo "package-test: Depends not from dpkg-shlibdeps" >&2; exit 1; }
# The maintainer scripts never start or enable the service (the operator does, docs/deployment.md).
dpkg-deb -e "$deb" "$build/package/control"
if grep -nE '(deb-systemd-invoke|systemctl|invoke-rc\.d|service) .*(start|restart|enable)' \
  "$build"/package/control/{postinst,prerm,postrm} | grep -vE '^[^:]+:[0-9]+: *#'; then
  echo "package-test: a maintainer script starts or enables kestrel.service (above)" >&2
  exit 1
fi
if command -v lintian >/dev/null; then
  # Errors fail the stage; warnings are printed (packaging/README.md says which remain and why).
  lintian --tag-display-limit 0 "$deb" >"$build/lintian.txt" 2>/dev/null || true
  echo "lintian: $(grep -c '^[EWI]: ' "$build/lintian.txt" || true) tags"
  cat "$build/lintian.txt"
  if grep -q '^E: ' "$build/lintian.txt"; then
    echo "package-test: lintian errors (above)" >&2
    exit 1
  fi
fi

t=$(date +%s)
# The hooks run on this machine with the root's path as $1; mmdebstrap mounts /proc, /sys and /dev
# in it for them, and removes the whole root at the end (TARGET /dev/null).
mmdebstrap --quiet --mode=root --variant=minbase --dpkgopt=force-unsafe-io \
  --aptopt='Acquire::Languages "none"' bookworm /dev/null "${mirror[@]}" \
  --customize-hook="copy-in $deb $src/examples/demo-events.ndjson $src/scripts/package-test.sh /tmp" \
  --customize-hook="chroot \"\$1\" bash /tmp/package-test.sh --inside /tmp/$(basename "$deb") /tmp/demo-events.ndjson"
echo "package-test: ok (.deb $((t - start)) s, Debian 12 root, install, run and removal $(($(date +%s) - t)) s)"
