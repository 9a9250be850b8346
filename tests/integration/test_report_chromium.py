"""reports/index.html in a real browser: headless Chromium loads every image and every table has rows.

The page is the one stage report builds from the unit test's small metrics fixtures. A probe script, added to a
copy of the page beside it, records each image's ``naturalWidth`` and each table's row count on the body once the
page has loaded; Chromium's ``--dump-dom`` prints the result. Skipped, with the reason, where Chromium is not
installed (Debian package ``chromium``; ``make system`` installs it as root) or cannot start here.
"""

from __future__ import annotations

import html.parser
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PROBE = """<script>
window.addEventListener("load", function () {
  var images = Array.prototype.map.call(document.images, function (img) {
    return {src: img.getAttribute("src"), complete: img.complete, width: img.naturalWidth};
  });
  var tables = Array.prototype.map.call(document.querySelectorAll("table.data"), function (table) {
    return table.querySelectorAll("tbody tr").length;
  });
  document.body.setAttribute("data-probe", JSON.stringify({images: images, tables: tables}));
});
</script>"""


def _chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium not installed (Debian package chromium; `make system` installs it as root)")
    return binary


def _dump_dom(binary: str, url: str, profile: Path) -> subprocess.CompletedProcess:
    args = [binary, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={profile}"]
    args += ["--virtual-time-budget=10000", "--dump-dom", url]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def _unit_fixtures():
    """write_report_inputs and run_report_stage of tests/unit/test_report_page.py: the same fixtures."""
    path = Path(__file__).parents[1] / "unit" / "test_report_page.py"
    spec = importlib.util.spec_from_file_location("report_page_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chromium_loads_every_image_and_every_table_has_rows(tmp_path: Path):
    binary = _chromium()
    profile = tmp_path / "chromium-profile"
    started = _dump_dom(binary, "about:blank", profile)
    if started.returncode != 0 or "<html" not in started.stdout:
        pytest.skip(f"chromium cannot start here (rc {started.returncode}): {started.stderr[-500:]}")

    fixtures = _unit_fixtures()
    root = tmp_path / "repo"
    fixtures.write_report_inputs(root)
    fixtures.run_report_stage(root)
    page = root / "reports" / "index.html"
    probe = page.with_name("probe.html")  # beside the page, so relative image paths resolve the same way
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")

    proc = _dump_dom(binary, probe.as_uri(), profile)
    assert proc.returncode == 0, f"chromium failed on {probe}: {proc.stderr[-2000:]}"
    result = _probe_result(proc.stdout)
    assert result["images"], "the page has no images"
    broken = [img["src"] for img in result["images"] if not img["complete"] or img["width"] == 0]
    assert not broken, f"images that did not load: {broken}"
    assert len(result["tables"]) == 4  # KS, decoders, per subject, audio
    assert all(rows > 0 for rows in result["tables"]), f"rows per table: {result['tables']}"


def _probe_result(dom: str) -> dict:
    class Body(html.parser.HTMLParser):
        value: str | None = None

        def handle_starttag(self, tag, attrs):
            if tag == "body":
                self.value = dict(attrs).get("data-probe")

    parser = Body()
    parser.feed(dom)
    assert parser.value, f"the probe did not run (no data-probe on <body>); DOM starts: {dom[:500]}"
    return json.loads(parser.value)
