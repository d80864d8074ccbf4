#!/usr/bin/env bash
# The postflight (the seed's tools/postflight-installer-v1_1.sh) on a real QEMU guest whose package
# service is `nx agent`, driven from this host with this repository's bin/nx:
#
#   1. build the guest image, or reuse the cached one (`nx qemu build`);
#   2. boot a fresh guest (empty state disk) that trusts fixtures/keys/dev.pub and store.pub (the
#      publishers) and licensing.pub (the dev store's key, for entitlements);
#   3. over the serial transport, then again over TCP: install notes 1.0.0 → upgrade to 1.1.0 (the
#      data migration runs in the guest) → the 1.2.0 upgrade, whose migration fails, lands back on
#      1.1.0 with its data intact → rollback to 1.0.0 → uninstall; then a tampered copy of notes
#      1.0.0 is refused by the guest with integrity.payload_digest_mismatch and installs nothing;
#   4. over TCP, then serial: the paid app ledger refused without an entitlement, bought from the
#      dev store, launched in the guest, refunded (launch refused), restored, uninstalled;
#   5. `nx selftest` over the serial transport (its SELFTEST lines on this host);
#   6. the markers of that boot on the guest console (ttyS0), as fixed substrings;
#   7. a reboot of the same state disk with nx.selftest=1: init runs `nx selftest` in the guest
#      before the agent, and its SELFTEST lines must be on the new console log; the root is left
#      clean (no apps, doctor clean).
#
# Exit 0 only when every step and every marker is there; otherwise the first failure is named with
# the last 40 lines of the log concerned. A timing summary closes the run; the guest is powered off
# at exit whatever happens. Environment: NX_POSTFLIGHT_GUEST (guest name, default postflight);
# NX_POSTFLIGHT_KEEP=1 keeps the work directory (logs, host key) also on success. See
# docs/qemu_tests.md.
set -uo pipefail

repo=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd -P) || exit 1
nx=$repo/bin/nx
deno=$repo/node_modules/@deno/linux-x64-glibc/deno
bundles=$repo/fixtures/bundles
guest=${NX_POSTFLIGHT_GUEST:-postflight}
work=$(mktemp -d "${TMPDIR:-/tmp}/nx-postflight.XXXXXX") || exit 1
# This run's own host identity and known_agents: nothing of the user's configuration is used.
export NO_COLOR=1 XDG_CONFIG_HOME=$work/config NX_IDENTITY=$work/host.key
unset NX_TRANSPORT NX_ROOT NX_MARKERS

started=$EPOCHREALTIME
timings=()
failed=""

say() { printf 'postflight: %s\n' "$*" >&2; }

# Milliseconds since $1 (an $EPOCHREALTIME), as seconds with one decimal.
since() {
  local us=$((${EPOCHREALTIME/./} - ${1/./}))
  printf '%d.%d' $((us / 1000000)) $((us % 1000000 / 100000))
}

record() { timings+=("$(printf '%-52s %6ss' "$1" "$(since "$2")")"); }

# The last 40 lines of a log, indented, for a failure.
excerpt() {
  [ -f "$1" ] || return 0
  printf 'postflight: last 40 lines of %s:\n' "$1" >&2
  tail -n 40 -- "$1" | sed 's/^/  | /' >&2
}

# fail WHAT [LOG]: names the failure, shows the log's tail, exits 1 (the trap powers off).
fail() {
  failed=$1
  say "FAIL: $1"
  [ $# -gt 1 ] && excerpt "$2"
  exit 1
}

cleanup() {
  local status=$?
  "$nx" qemu down --name "$guest" >>"$work/down.log" 2>&1 || say "nx qemu down failed (see $work/down.log)"
  if [ ${#timings[@]} -gt 0 ]; then
    say "timings:"
    printf '  %s\n' "${timings[@]}" >&2
    printf '  %-52s %6ss\n' "total" "$(since "$started")" >&2
  fi
  if [ $status -eq 0 ] && [ -z "$failed" ] && [ "${NX_POSTFLIGHT_KEEP:-}" != 1 ]; then
    rm -rf -- "$work"
  else
    say "logs kept in $work"
  fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# field JSON PATH: one value of a JSON document (a.b.c), objects as JSON.
field() {
  (cd / && "$deno" eval --quiet 'const [text, path] = Deno.args; let v; try { v = JSON.parse(text); }
    catch { Deno.exit(0); } for (const k of path.split(".")) v = v?.[k];
    console.log(v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));' \
    "$1" "$2")
}

last="" # the envelope of the last nx call

# nxj WANT LABEL ARGS…: `nx ARGS --json` must end with the envelope code WANT (ok or an error
# code); timed as LABEL. stderr goes to host.log.
nxj() {
  local want=$1 label=$2 t0=$EPOCHREALTIME code
  shift 2
  printf '\n$ nx %s --timeout 300 --json\n' "$*" >>"$work/host.log"
  # Every call is remote: --timeout bounds a hung guest (a bound, not a target).
  last=$("$nx" "$@" --timeout 300 --json 2>>"$work/host.log")
  printf '%s\n' "$last" >>"$work/host.log"
  code=$(field "$last" code)
  [ "$code" = "$want" ] || fail "$label: expected $want, got ${code:-no envelope}: $(field "$last" message)" "$work/host.log"
  record "$label" "$t0"
}

# expect_app TRANSPORT VIA APP VERSION DATA_BYTES: the guest's record of APP (and its data's size).
expect_app() {
  nxj ok "  info $3 ($2)" pkg info "$3" --transport "$1"
  local version size
  version=$(field "$last" data.version)
  size=$(field "$last" data.dataSize)
  [ "$version" = "$4" ] || fail "$3 is at ${version:-?} on the guest, expected $4" "$work/host.log"
  [ "$size" = "$5" ] || fail "the data of $3 $4 is $size bytes on the guest, expected $5" "$work/host.log"
}

# The notes lifecycle over one transport; the migration of no notes writes 15 bytes
# (`[]` and `{"version":2}`), the failing 1.2.0 one would leave 32 ("corrupted by …").
lifecycle() {
  local t=$1 via=$2
  nxj ok "install notes 1.0.0 ($via)" pkg install "$bundles/notes-1.0.0.nxb" --transport "$t"
  expect_app "$t" "$via" notes 1.0.0 0
  nxj ok "upgrade notes 1.1.0, migration in the guest ($via)" pkg upgrade "$bundles/notes-1.1.0.nxb" --transport "$t"
  expect_app "$t" "$via" notes 1.1.0 15
  nxj migration.failed "upgrade notes 1.2.0, failing migration ($via)" pkg upgrade "$bundles/notes-1.2.0.nxb" --transport "$t"
  expect_app "$t" "$via" notes 1.1.0 15
  nxj ok "rollback notes ($via)" pkg rollback notes --transport "$t"
  expect_app "$t" "$via" notes 1.0.0 0
  nxj ok "uninstall notes ($via)" pkg uninstall notes --purge --transport "$t"
  nxj integrity.payload_digest_mismatch "install a tampered notes 1.0.0 ($via)" pkg install "$work/tampered/notes.nxb" --transport "$t"
  nxj app.not_installed "  info notes: not installed ($via)" pkg info notes --transport "$t"
}

# expect_markers LOG MARKER…: each MARKER is a fixed substring of a line of LOG.
expect_markers() {
  local log=$1 marker
  shift
  for marker in "$@"; do
    grep -qF -- "$marker" "$log" || fail "marker missing from $(basename "$log"): $marker" "$log"
  done
}

# expect_count LOG N MARKER…: each MARKER is on at least N lines of LOG (once per transport).
expect_count() {
  local log=$1 n=$2 marker
  shift 2
  for marker in "$@"; do
    [ "$(grep -cF -- "$marker" "$log")" -ge "$n" ] ||
      fail "marker on fewer than $n lines of $(basename "$log"): $marker" "$log"
  done
}

# flip_byte FILE OFFSET: flips the lowest bit of one byte.
flip_byte() {
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 -- "$1" | tr -d ' ')
  # shellcheck disable=SC2059 # the format is the octal escape of the new byte
  printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

SELFTEST=(
  "SELFTEST: pkg install notes v1 ok"
  "SELFTEST: pkg upgrade notes v1.1 ok"
  "SELFTEST: pkg rollback ok"
  "SELFTEST: pkg v1 launch ok"
  "SELFTEST: pkg v1 install ok"
  "SELFTEST: pkg v1 uninstall ok"
  "SELFTEST: pkg paid entitlement ok"
)

# The paid app over one transport: refused without an entitlement, bought from the dev store (a
# token for the guest's device), launched in the guest, refunded (launch refused), restored
# (launched), uninstalled, and refunded again so the guest's root is entitled to nothing.
# DENIED: the gate's code before the purchase (entitlement.missing on a new root, then
# entitlement.revoked: the last run's token, refunded, is still in the ledger).
paid() {
  local t=$1 via=$2 denied=$3
  nxj "$denied" "install ledger without a valid entitlement ($via)" pkg install "$bundles/ledger-1.0.0.nxb" --transport "$t"
  nxj ok "store buy ledger.pro --yes ($via)" store buy ledger.pro --yes --transport "$t"
  # (nxj appends its options: the program gets no arguments of its own here)
  nxj ok "launch ledger ($via)" pkg launch ledger --transport "$t"
  [ "$(field "$last" data.stdout)" = "ledger 1.0.0: hello" ] ||
    fail "ledger's output over $via: $(field "$last" data.stdout)" "$work/host.log"
  nxj ok "store refund ledger.pro ($via)" store refund ledger.pro --transport "$t"
  nxj app.inactive "  launch --check after the refund ($via)" pkg launch ledger --check --transport "$t"
  nxj ok "store restore ledger.pro ($via)" store restore ledger.pro --transport "$t"
  nxj ok "  launch --check after the restore ($via)" pkg launch ledger --check --transport "$t"
  nxj ok "uninstall ledger ($via)" pkg uninstall ledger --purge --transport "$t"
  nxj ok "  store refund, the root entitled to nothing ($via)" store refund ledger.pro --transport "$t"
}

[ -x "$deno" ] || fail "$deno is missing (run npm ci)"
"$nx" pkg keygen --out "$work" --name host --json >/dev/null 2>>"$work/host.log" || fail "keygen" "$work/host.log"
mkdir -p "$work/tampered"
cp -r -- "$bundles/notes-1.0.0.nxb" "$work/tampered/notes.nxb"
flip_byte "$work/tampered/notes.nxb/payload.elf" 100

say "building the guest image (or reusing it)"
t0=$EPOCHREALTIME
"$nx" qemu build >"$work/build.log" 2>&1 || fail "nx qemu build" "$work/build.log"
record "build (nx qemu build)" "$t0"

say "booting a fresh guest $guest"
t0=$EPOCHREALTIME
keys=$repo/fixtures/keys
up=$("$nx" qemu up --fresh --name "$guest" --trust "$keys/dev.pub" --trust "$keys/store.pub" \
  --trust-store "$keys/licensing.pub" --authorize "$work/host.pub" --timeout 300 --json 2>"$work/up.log") || fail "nx qemu up: $(field "$up" message)" "$work/up.log"
record "boot to ready (fresh state disk)" "$t0"
serial=$(field "$up" data.serial)
tcp=$(field "$up" data.tcp)
console=$(field "$up" data.console)
[ -n "$serial" ] && [ -n "$tcp" ] && [ -f "$console" ] || fail "nx qemu up gave no transports: $up"
say "guest ready: $serial, $tcp"

say "the notes lifecycle over serial, then over tcp"
lifecycle "$serial" serial
lifecycle "$tcp" tcp
say "the paid app over tcp, then over serial"
paid "$tcp" tcp entitlement.missing
paid "$serial" serial entitlement.revoked

say "nx selftest over serial"
t0=$EPOCHREALTIME
"$nx" selftest --transport "$serial" --timeout 300 --markers >"$work/selftest-host.log" 2>&1 ||
  fail "nx selftest over serial" "$work/selftest-host.log"
record "nx selftest over serial" "$t0"
expect_markers "$work/selftest-host.log" "${SELFTEST[@]}"

cp -- "$console" "$work/console-boot1.log"
expect_markers "$work/console-boot1.log" "pkgr: ready" "bundlemgrd: ready" "policy: packages enforce on"
expect_count "$work/console-boot1.log" 2 "bundle: verify ok app=notes" "bundle: install ok notes@1.0.0" \
  "bundle: install ok notes@1.1.0" "pkgr: rollback to=1.0.0" "bundle: uninstall ok notes"
# The selftest's calls, as the agent reports them.
expect_markers "$work/console-boot1.log" "bundle: install ok textkit@1.0.0" "bundle: install ok reader@1.0.0" \
  "bundle: uninstall ok reader" "bundle: uninstall ok textkit"
# The paid app's gate and launches, as the agent reports them (postflight twice, the selftest once).
expect_count "$work/console-boot1.log" 3 "pkgr: deny entitlement app=ledger sku=ledger.pro" \
  "bundle: install ok ledger@1.0.0" "bundle: uninstall ok ledger"
expect_markers "$work/console-boot1.log" "pkgr: launch app=ledger v=1.0.0" "pkgr: launch app=notes v=1.0.0"
if grep -qF "bundle: install ok notes@1.2.0" "$work/console-boot1.log"; then
  fail "the failing notes 1.2.0 upgrade is reported installed on the console" "$work/console-boot1.log"
fi

say "rebooting $guest with nx.selftest=1 (same state disk)"
t0=$EPOCHREALTIME
"$nx" qemu down --name "$guest" >"$work/down.log" 2>&1 || fail "nx qemu down" "$work/down.log"
record "power off (nx qemu down)" "$t0"
t0=$EPOCHREALTIME
up=$("$nx" qemu up --name "$guest" --selftest --authorize "$work/host.pub" --timeout 300 --json 2>"$work/up2.log") ||
  fail "nx qemu up --selftest: $(field "$up" message)" "$work/up2.log"
record "boot with the in-guest selftest to ready" "$t0"
tcp=$(field "$up" data.tcp)
console=$(field "$up" data.console)
cp -- "$console" "$work/console-boot2.log"
expect_markers "$work/console-boot2.log" "${SELFTEST[@]}" "pkgr: ready"
nxj ok "list: the selftest left no app (tcp)" pkg list --transport "$tcp"
[ "$(field "$last" data.apps)" = "[]" ] ||
  fail "apps left on the guest after the selftest: $(field "$last" data.apps)" "$work/host.log"
nxj ok "doctor clean after the selftest (tcp)" pkg doctor --transport "$tcp"

say "ok: every step and every marker"
