#!/usr/bin/env bash
# System packages the slower test tier needs: LibreOffice (an independent spreadsheet application), pdftoppm
# (renders report pages to pictures) and a Chinese font (so rendered pages show Chinese text).
# Installs them with apt-get when missing and we are root; otherwise says what to install.
set -euo pipefail
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
[ -n "$(fc-list :lang=zh 2>/dev/null)" ] || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${need[*]} ..." >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "Please install: ${need[*]} (e.g. sudo apt-get install ${need[*]}); the slow test tier needs them." >&2
  exit 2
fi
