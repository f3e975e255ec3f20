# Sourced by scripts/test and scripts/demo: a project virtual environment with the package and its test extras.
# Re-installs only when pyproject.toml changed since the last install.
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "xl-logistics needs Python 3.11 or newer (found: $("$PY" --version 2>&1))." >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv ..." >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.xl-logistics-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing xl-logistics and its dependencies into .venv ..." >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
  .venv/bin/python -m pip install --quiet -e '.[test]'
  echo "$want" > "$stamp"
fi
