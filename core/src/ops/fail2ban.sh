export LC_ALL=C
command -v fail2ban-client >/dev/null 2>&1 || { echo '@@sshdeck not-installed'; exit 0; }
if [ "$(id -u)" = 0 ]; then run() { fail2ban-client "$@"; }
elif command -v sudo >/dev/null 2>&1; then run() { sudo -n fail2ban-client "$@"; }
else echo '@@sshdeck no-sudo'; exit 0; fi
one() { out=$(run status "$1" 2>&1); rc=$?; echo "@@sshdeck jail $rc"; printf '%s\n' "$out"; }
if [ -n "$1" ]; then one "$1"; exit 0; fi
out=$(run status 2>&1); rc=$?
echo "@@sshdeck status $rc"; printf '%s\n' "$out"
[ "$rc" -eq 0 ] || exit 0
set -f
for j in $(printf '%s\n' "$out" | sed -n 's/.*Jail list:[[:space:]]*//p' | tr ',' ' '); do one "$j"; done
