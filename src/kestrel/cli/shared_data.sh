# Sourced by the shell tests that read ../shared (the repository's sibling directory: the
# conformance suite, the Endgame workload). `have_shared_data PATH WHAT` is true if PATH exists;
# otherwise it prints a loud line naming PATH and saying that WHAT did not run, and is false.
have_shared_data() {
  [ -e "$1" ] && return 0
  echo "*** SHARED TEST DATA MISSING: $1 not found; $2 did NOT run ***" >&2
  return 1
}
