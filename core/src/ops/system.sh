export LC_ALL=C
m() { echo "@@sshdeck $1"; }
m stat1; head -n 1 /proc/stat
m loadavg; cat /proc/loadavg
m nproc; nproc 2>/dev/null || grep -c '^processor' /proc/cpuinfo
m meminfo; cat /proc/meminfo
m uptime; cat /proc/uptime
m uname; uname -n; uname -r
m df; if command -v timeout >/dev/null 2>&1; then timeout 5 df -P -k; else df -P -k; fi 2>/dev/null
sleep 0.5 2>/dev/null || sleep 1
m stat2; head -n 1 /proc/stat
