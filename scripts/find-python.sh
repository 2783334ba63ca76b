#!/usr/bin/env sh
# Prints the path of a Python >= 3.12 interpreter: PATH first, then pyenv's
# installed versions (pyenv does not put non-global versions on PATH).
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
for name in python3.13 python3.12 python3.14 python3; do
  p=$(command -v "$name" 2>/dev/null) || continue
  if ok "$p"; then echo "$p"; exit 0; fi
done
root=${PYENV_ROOT:-$HOME/.pyenv}
if command -v pyenv >/dev/null 2>&1; then root=$(pyenv root); fi
for p in $(ls -d "$root"/versions/3.1[2-9]* 2>/dev/null | sort -rV); do
  if ok "$p/bin/python3"; then echo "$p/bin/python3"; exit 0; fi
done
echo "error: no Python >= 3.12 found on PATH or in pyenv; install python3.13" >&2
exit 1
