"""Headless Chromium for the report tests: dump a page's DOM after its scripts ran, with every
console error and uncaught exception written into the DOM, and take a screenshot."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
ERRORS_ATTRIBUTE = "data-console-errors"
# Runs before the page's own script: uncaught errors, rejected promises and console.error calls
# end up as JSON in an attribute of <html>, which --dump-dom prints.
COLLECTOR = """<script>
(function () {
  var errors = [];
  function keep(text) { errors.push(String(text)); document.documentElement.setAttribute('ERRORS_ATTRIBUTE', JSON.stringify(errors)); }
  document.documentElement.setAttribute('ERRORS_ATTRIBUTE', '[]');
  window.addEventListener('error', function (e) { keep('uncaught: ' + e.message); });
  window.addEventListener('unhandledrejection', function (e) { keep('rejected: ' + e.reason); });
  var original = console.error;
  console.error = function () { keep('console.error: ' + Array.prototype.join.call(arguments, ' ')); original.apply(console, arguments); };
})();
</script>""".replace("ERRORS_ATTRIBUTE", ERRORS_ATTRIBUTE)


def chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def with_collector(html: str) -> str:
    head = html.index("<head>") + len("<head>")
    return html[:head] + COLLECTOR + html[head:]


def _run(executable: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [executable, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
               "--disable-extensions", "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
               f"--user-data-dir={profile}", "--virtual-time-budget=3000", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def dump_dom(executable: str, page: Path, profile: Path) -> tuple[str, str]:
    """The DOM after load, and Chromium's stderr (where it also logs console messages)."""
    result = _run(executable, profile, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


def screenshot(executable: str, page: Path, profile: Path, target: Path, size: str = "1400,1800") -> None:
    result = _run(executable, profile, f"--screenshot={target}", f"--window-size={size}", page.as_uri())
    assert result.returncode == 0 and target.is_file(), result.stderr[-2000:]


def console_messages(stderr: str) -> list[str]:
    """Every console message Chromium logged (it logs console.error at INFO level, so the level does
    not tell errors apart; the report writes nothing to the console at all)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]
