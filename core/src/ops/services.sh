export LC_ALL=C
section() {
  name=$1; shift
  if command -v "$1" >/dev/null 2>&1; then out=$("$@" 2>&1); echo "@@sshdeck $name $?"; printf '%s\n' "$out"
  else echo "@@sshdeck $name missing"; fi
}
section systemd systemctl list-units --type=service --state=running,failed --no-legend --no-pager --plain
section docker docker ps -a --no-trunc --format '{{.ID}}\t{{.Names}}\t{{.Image}}\t{{.Status}}'
section pm2 pm2 jlist
