export LC_ALL=C PATH="$PATH:/usr/sbin:/sbin:/usr/local/bin"
if command -v ss >/dev/null 2>&1; then echo "@@sshdeck ports"; ss -Hlntp 2>/dev/null || ss -Hlnt; else echo "@@sshdeck ports missing"; fi
if command -v nginx >/dev/null 2>&1; then
  out=$(nginx -T 2>/dev/null) || out=$(sudo -n nginx -T 2>/dev/null) || out=""
  if [ -n "$out" ]; then echo "@@sshdeck nginx"; printf '%s\n' "$out" | head -c 4000000; else echo "@@sshdeck nginx unavailable"; fi
else echo "@@sshdeck nginx missing"; fi
if command -v docker >/dev/null 2>&1; then
  out=$(docker ps --format '{{.Names}}\t{{.Ports}}' 2>/dev/null) && { echo "@@sshdeck docker"; printf '%s\n' "$out"; } || echo "@@sshdeck docker unavailable"
else echo "@@sshdeck docker missing"; fi
if command -v pm2 >/dev/null 2>&1; then
  out=$(pm2 jlist 2>/dev/null) && { echo "@@sshdeck pm2"; printf '%s\n' "$out"; } || echo "@@sshdeck pm2 unavailable"
else echo "@@sshdeck pm2 missing"; fi
