#!/bin/sh
# What the tests need that pip cannot install: Debian's chromium, in which the report tests open the
# rendered HTML headless (tests/report/test_browser.py). Does nothing when chromium is already there.
set -e
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
chromium --version
