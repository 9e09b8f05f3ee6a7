export LC_ALL=C
host=$1; t=$2; shift 2
if command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
  probe() { timeout "$t" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$1"; }
elif command -v nc >/dev/null 2>&1; then
  probe() { nc -z -w "$t" "$host" "$1"; }
else echo '@@sshdeck missing bash+timeout or nc'; exit 0; fi
for p in "$@"; do
  ( s=$(date +%s%N); err=$(probe "$p" 2>&1); rc=$?; e=$(date +%s%N)
    echo "@@sshdeck port $p $rc $s $e $(printf '%s' "$err" | tr '\n' ' ' | cut -c1-200)" ) &
done
wait
