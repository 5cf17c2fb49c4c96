# Shared by scripts/serve and scripts/test: make .venv and install the project into it.
# The client (client/) and the server (.) are two distributions; the server depends on
# the client, which is not on PyPI, so the client is installed first, from this tree.
# Re-installs only when a pyproject.toml changed since the last install with these extras.
ensure_venv() {
  local extras="$1" client_extras="${2:-}"
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local venv="$root/.venv"
  local python="${PYTHON:-python3}"
  if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -m venv "$venv" 2>/dev/null; then
      echo "python3 -m venv failed; installing python3-venv" >&2
      as_root apt-get update -qq && as_root apt-get install -y -qq python3-venv >/dev/null
      "$python" -m venv "$venv"
    fi
  fi
  local stamp="$venv/.installed-${extras//,/-}${client_extras:+-client-${client_extras//,/-}}"
  if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ] \
      || [ "$root/client/pyproject.toml" -nt "$stamp" ]; then
    local client="$root/client"
    [ -n "$client_extras" ] && client="$client[$client_extras]"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
      -e "$client" -e "$root[$extras]"
    touch "$stamp"
  fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG...: install the Debian packages that are not installed yet; runs
# `apt-get update` at most once per scripts/test run (the SDK toolchains share it).
apt_install() {
  local wanted=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || wanted+=("$pkg")
  done
  [ ${#wanted[@]} -eq 0 ] && return 0
  echo "installing ${wanted[*]}" >&2
  if [ -z "${_APT_UPDATED:-}" ]; then
    as_root apt-get update -qq
    export _APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "${wanted[@]}" >/dev/null
}
