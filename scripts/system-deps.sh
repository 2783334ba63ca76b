#!/usr/bin/env bash
# Makes sure the Debian packages a make target needs are installed.
#   scripts/system-deps.sh install PACKAGE...  installs the missing ones (apt-get as root), or
#                                              names them and the command in one line and fails
#   scripts/system-deps.sh check PACKAGE...    only names the missing ones in one line and fails
# A package counts as installed when the program the project uses from it is there.
set -euo pipefail
mode=$1
shift

installed() {
  case $1 in
    postgresql) compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null ;;
    nginx) command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] ;;
    nodejs) command -v node >/dev/null ;;
    *) command -v "$1" >/dev/null ;;
  esac
}

missing=()
for package in "$@"; do
  installed "$package" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

command_line="apt-get update && apt-get install -y ${missing[*]}"
if [ "$mode" = install ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
  exit 0
fi
echo "missing system packages: ${missing[*]} (install them with: sudo sh -c '$command_line')" >&2
exit 1
