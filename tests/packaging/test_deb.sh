#!/usr/bin/env bash
# Checks the Debian package that `make deb` builds:
#   1. its metadata: Depends, the conffile, every file it must ship, the copyright
#      and changelog; lintian reports no error, and every tag it does report is
#      explained in docs/packaging.md; hardening-check passes on both binaries;
#   2. unpacked into a scratch root (dpkg-deb -x), the unpacked hearthd checks the
#      packaged /etc/hearth/hearth.toml, finds its Python runtime next to itself,
#      serves the packaged example app, answers hearthctl, and stops cleanly;
#   3. with HEARTH_DEB_INSTALL=1 (root only): dpkg -i on this machine (postinst enables
#      the units through deb-systemd-helper), the same run with /usr/bin/hearthd,
#      systemd-analyze verify of the installed units, then dpkg --purge, which removes
#      the enablement (so the test can run again; a hearth installed before is refused).
# Usage: tests/packaging/test_deb.sh build/hearth_VERSION_ARCH.deb
# Every process it starts is stopped by its PID.
set -euo pipefail
# As root (CI containers) hearthd refuses to run the app as root unless told (docs/security.md).
if [ "$(id -u)" = 0 ]; then export HEARTH_ALLOW_ROOT="${HEARTH_ALLOW_ROOT:-1}"; fi

deb=${1:?usage: test_deb.sh PACKAGE.deb}
[ -f "$deb" ] || { echo "test_deb: $deb not found (make deb)" >&2; exit 2; }
deb=$(readlink -f "$deb")
scratch=$(mktemp -d /tmp/hearth-deb.XXXXXX)
pids=()
installed_here=0

fail() { echo "test_deb: FAIL: $*" >&2; exit 1; }
ok() { echo "test_deb: ok: $*"; }

cleanup() {
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
  if [ "$installed_here" = 1 ]; then dpkg --purge hearth >/dev/null 2>&1 || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# --- 1. metadata ------------------------------------------------------------------
depends=$(dpkg-deb -f "$deb" Depends)
for d in python3 libnghttp2-14 libtomlplusplus3 libssl3 libprometheus-cpp-core1.0 adduser; do
  grep -q "\b$d\b" <<<"$depends" || fail "Depends lacks $d: $depends"
done
ok "Depends: $depends"
[ "$(dpkg-deb -I "$deb" conffiles)" = "$(printf '/etc/hearth/hearth.toml\n/etc/logrotate.d/hearth')" ] ||
  fail "conffiles is not /etc/hearth/hearth.toml + /etc/logrotate.d/hearth: $(dpkg-deb -I "$deb" conffiles)"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/hearthd ./usr/bin/hearthctl ./usr/share/hearth/python/hearth_zygote.py \
         ./usr/share/hearth/python/hearth_worker/worker.py ./etc/hearth/hearth.toml \
         ./lib/systemd/system/hearthd.service ./lib/systemd/system/hearthd.socket \
         ./usr/share/man/man1/hearthd.1.gz ./usr/share/man/man1/hearthctl.1.gz ./etc/logrotate.d/hearth \
         ./usr/share/hearth/examples/hello/app.py ./usr/share/doc/hearth/deploy.md; do
  grep -qx "$f" <<<"$contents" || fail "the package lacks $f"
done
if grep -q __pycache__ <<<"$contents"; then fail "the package ships __pycache__"; fi
# The worker runtime's C accelerator, when the build had Python's headers (python3-dev).
speedups=$(grep -E '^\./usr/lib/hearth/python-speedups/_speedups\.cpython-[0-9]+-.*\.so$' <<<"$contents" || true)
if [ -z "$speedups" ] && [ -f /usr/include/python3/Python.h -o -n "$(ls /usr/include/python3.*/Python.h 2>/dev/null)" ]; then
  fail "the package lacks the worker's C accelerator (usr/lib/hearth/python-speedups/_speedups*.so)"
fi
ok "contents${speedups:+ (C accelerator ${speedups#./})}"

# Debian policy 12.5/12.7: copyright (DEP-5) and changelog.Debian.gz, whose version is the package's.
for f in ./usr/share/doc/hearth/copyright ./usr/share/doc/hearth/changelog.Debian.gz; do
  grep -qx "$f" <<<"$contents" || fail "the package lacks $f"
done
meta="$scratch/meta"; mkdir -p "$meta"
dpkg-deb -x "$deb" "$meta"
head -n1 "$meta/usr/share/doc/hearth/copyright" \
  | grep -qx "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" \
  || fail "copyright is not machine-readable (DEP-5)"
version=$(dpkg-deb -f "$deb" Version)
first=$(gzip -dc "$meta/usr/share/doc/hearth/changelog.Debian.gz" | head -n1)
[[ "$first" == "hearth ($version) "* ]] || fail "changelog.Debian.gz starts '$first', not version $version"
maint=$(dpkg-deb -f "$deb" Maintainer)
grep -qE '<[^@>]+@[^.>]+\.[^>]+>' <<<"$maint" || fail "Maintainer has no real mail host: $maint"
ok "copyright (DEP-5), changelog $version, Maintainer $maint"

# lintian: no error; each tag it reports (warning, info, pedantic) is in docs/packaging.md.
if command -v lintian >/dev/null; then
  lint=$(lintian --no-cfg --display-info --display-experimental --pedantic "$deb" 2>&1 || true)
  if grep -q '^E: ' <<<"$lint"; then echo "$lint" >&2; fail "lintian reports errors"; fi
  docs="$(dirname "$0")/../../docs/packaging.md"
  for tag in $(sed -n 's/^[WIPX]: hearth[^:]*: \([a-z0-9.+-]*\).*/\1/p' <<<"$lint" | sort -u); do
    grep -q "\`$tag\`" "$docs" || { echo "$lint" >&2; fail "lintian tag $tag is not explained in docs/packaging.md"; }
  done
  ok "lintian: no errors; $(grep -c '^[WIPX]: ' <<<"$lint" || true) other tag(s), each explained in docs/packaging.md"
else
  echo "test_deb: skip: lintian is not installed (packaging/install-deps.sh test)"
fi

# Debian's hardening flags in both binaries (hardening-check, from devscripts).
if command -v hardening-check >/dev/null; then
  for b in usr/bin/hearthd usr/bin/hearthctl; do
    # --nocfprotection: -fcf-protection is not in bookworm's dpkg-buildflags set (docs/packaging.md).
    out=$(hardening-check --nocfprotection "$meta/$b" 2>&1) || { echo "$out" >&2; fail "hardening-check $b"; }
    for feature in "Position Independent Executable: yes" "Stack protected: yes" \
                   "Fortify Source functions: yes" "Read-only relocations: yes" "Immediate binding: yes"; do
      grep -qF "$feature" <<<"$out" || { echo "$out" >&2; fail "hardening-check $b: no '$feature'"; }
    done
  done
  ok "hardening-check: PIE, stack protector, fortify, relro, bindnow in hearthd and hearthctl"
else
  echo "test_deb: skip: hardening-check is not installed (devscripts; packaging/install-deps.sh test)"
fi
rm -rf "$meta"

# --- 2. unpacked into a scratch root -------------------------------------------------
# Runs $1/usr/bin/hearthd (or /usr/bin/hearthd when $1 is empty) against the
# example app under $1, on ports the kernel picks; curls it; stops it by PID.
run_installed() {
  local root=$1 what=$2 log="$scratch/$2.log" sock="$scratch/$2.sock"
  local hearthd="$root/usr/bin/hearthd" hearthctl="$root/usr/bin/hearthctl"
  local app="$root/usr/share/hearth/examples/hello"
  local cfg="$root/etc/hearth/hearth.toml"
  local summary
  summary=$("$hearthd" -c "$cfg" --chdir "$app" --check-config 2>&1) || fail "$what: --check-config: $summary"
  grep -q "^# runtime dir: $root/usr/share/hearth/python\$" <<<"$summary" \
    || fail "$what: runtime dir is not $root/usr/share/hearth/python: $(grep 'runtime dir' <<<"$summary")"
  "$hearthd" -c "$cfg" --chdir "$app" -b 127.0.0.1:0 --admin-bind 127.0.0.1:0 --control-socket "$sock" \
    </dev/null >"$log.out" 2>"$log" &
  local pid=$!
  pids+=("$pid")
  local url="" admin="" i
  for i in $(seq 300); do  # 30 s
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$what: hearthd exited"; }
    url=$(sed -n 's/.*\[http\] listening on \(http:[^ ]*\).*/\1/p' "$log" | head -n1)
    admin=$(sed -n 's/.*\[admin\] listening on \(http:[^ ]*\).*/\1/p' "$log" | head -n1)
    # Both addresses: the two seds read the log at different moments, so the admin line
    # can be seen while the [http] line (written first) was not yet in the first read.
    if [ -n "$url" ] && [ -n "$admin" ] && curl -fsS -o /dev/null "$admin/readyz" 2>/dev/null; then break; fi
    sleep 0.1
  done
  curl -fsS -o /dev/null "$admin/readyz" || { cat "$log" >&2; fail "$what: not ready within 30 s"; }
  local body
  body=$(curl -fsS "$url/") || fail "$what: GET / failed"
  grep -q "^Hello from Hearth!" <<<"$body" || fail "$what: unexpected body: $body"
  local metrics
  metrics=$(curl -fsS "$admin/metrics") || fail "$what: GET /metrics failed"
  grep -q "^hearth_" <<<"$metrics" || fail "$what: /metrics has no hearth_ metrics"
  "$hearthctl" --socket "$sock" status >/dev/null || fail "$what: hearthctl status"
  if [ -n "$speedups" ]; then  # the installed runtime found the packaged accelerator
    grep -q "worker runtime: C accelerator $root/usr/lib/hearth/python-speedups/" "$log" \
      || { cat "$log" >&2; fail "$what: the zygote did not load the packaged C accelerator"; }
  fi
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || { cat "$log" >&2; fail "$what: hearthd exited $rc after SIGTERM"; }
  ok "$what: served the example app from $root/usr/bin/hearthd and stopped cleanly"
}

dpkg-deb -x "$deb" "$scratch/root"
run_installed "$scratch/root" unpacked

# --- 3. optional: dpkg -i on this machine ---------------------------------------------
if [ "${HEARTH_DEB_INSTALL:-0}" = 1 ]; then
  [ "$(id -u)" = 0 ] || fail "HEARTH_DEB_INSTALL=1 needs root"
  if dpkg-query -W -f='${Status}' hearth 2>/dev/null | grep -q "install ok installed"; then
    fail "a hearth package is already installed here; not touching it"
  fi
  installed_here=1
  dpkg -i "$deb" >/dev/null || fail "dpkg -i"
  getent passwd hearth >/dev/null || fail "postinst did not create the hearth user"
  # deb-systemd-helper enabled the units (symlinks), even with no systemd running.
  for l in /etc/systemd/system/multi-user.target.wants/hearthd.service \
           /etc/systemd/system/sockets.target.wants/hearthd.socket; do
    [ -L "$l" ] || fail "postinst did not enable the unit: $l missing"
  done
  run_installed "" installed
  if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify /lib/systemd/system/hearthd.service /lib/systemd/system/hearthd.socket 2>&1 || true)
    [ -z "$out" ] || fail "systemd-analyze verify: $out"
    ok "systemd-analyze verify of the installed units"
  fi
  dpkg --purge hearth >/dev/null || fail "dpkg --purge"
  installed_here=0
  [ ! -e /usr/bin/hearthd ] || fail "/usr/bin/hearthd left after purge"
  for l in /etc/systemd/system/multi-user.target.wants/hearthd.service \
           /etc/systemd/system/sockets.target.wants/hearthd.socket; do
    [ ! -L "$l" ] || fail "purge left $l"
  done
  ok "dpkg -i / --purge"
fi
echo "test_deb: PASS"
