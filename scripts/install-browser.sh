#!/usr/bin/env bash
# The headless browser for the dashboard's end-to-end test (tests/dashboard/test_browser.py):
# Debian's chromium and its chromedriver, and Selenium from PyPI. Installs only what is missing;
# Selenium is driven with Service('/usr/bin/chromedriver'), so Selenium Manager never downloads a driver.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver \
        fonts-noto-cjk >/dev/null
fi
"$PY" -c "import selenium" 2>/dev/null || "$PY" -m pip install --quiet "selenium>=4.10"
echo "browser: $(chromium --version 2>/dev/null), $(chromedriver --version 2>/dev/null | cut -d' ' -f1-2), selenium $("$PY" -c 'import selenium; print(selenium.__version__)')"
