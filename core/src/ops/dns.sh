export LC_ALL=C
name=$1; type=$2
if command -v getent >/dev/null 2>&1; then
  case $type in
    A) out=$(getent ahostsv4 "$name" 2>&1); echo "@@sshdeck getent $?"; printf '%s\n' "$out"; exit 0 ;;
    AAAA) out=$(getent ahostsv6 "$name" 2>&1); echo "@@sshdeck getent $?"; printf '%s\n' "$out"; exit 0 ;;
  esac
fi
if command -v dig >/dev/null 2>&1; then
  if [ "$type" = PTR ]; then out=$(dig +noall +answer +time=2 +tries=1 -x "$name" 2>&1)
  else out=$(dig +noall +answer +time=2 +tries=1 -t "$type" "$name" 2>&1); fi
  echo "@@sshdeck dig $?"; printf '%s\n' "$out"
elif [ "$type" = PTR ] && command -v getent >/dev/null 2>&1; then
  out=$(getent hosts "$name" 2>&1); echo "@@sshdeck getent-ptr $?"; printf '%s\n' "$out"
else echo "@@sshdeck missing dig"; fi
