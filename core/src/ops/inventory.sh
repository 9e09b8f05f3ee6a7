export LC_ALL=C
echo "@@sshdeck os"; cat /etc/os-release 2>/dev/null
echo "@@sshdeck arch"; uname -m
echo "@@sshdeck cpu"; grep -m1 '^model name' /proc/cpuinfo 2>/dev/null
if command -v ss >/dev/null 2>&1; then
  echo "@@sshdeck ports"; ss -Hlntp 2>/dev/null || ss -Hlnt
else
  echo "@@sshdeck ports missing"
fi
