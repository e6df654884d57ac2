#!/bin/sh
# Debian's Chromium for the end-to-end tests (test/support/browser.ts), with two more features
# off: headless Chromium preloads the address bar's WebUI popups in a renderer of their own for
# every window, and each browser context is a window: ~1 s of CPU per context for a popup that a
# test never opens. Added to Playwright's own --disable-features (a second one would replace it).
extra=WebUIOmniboxPopup,WebUIOmniboxAimPopup
found=
for arg do
  shift
  case $arg in
    --disable-features=*)
      arg="$arg,$extra"
      found=1
      ;;
  esac
  set -- "$@" "$arg"
done
[ -n "$found" ] || set -- "$@" "--disable-features=$extra"
exec /usr/bin/chromium "$@"
