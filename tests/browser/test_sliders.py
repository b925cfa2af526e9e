"""Every notebook's sliders, moved in a real browser (headless Chromium + JupyterLab).

For each ``notebooks/NN_*.ipynb``: open it in an isolated JupyterLab (fresh token, temporary
config/data/runtime/settings/workspace/IPython/matplotlib directories, a copy of the notebooks as
the server root), run all cells with ``PINNLAB_MODE=quick`` (experiments reload the quick results
cached in ``build/results/quick`` by the nbval run of ``make test``), then move every
``.pinnlab-slider-*`` one step and check that the ``img`` of the output panel it drives changed.
No cell may show stderr output (tracebacks and warnings land there) and no dialog may open.

Screenshots go to ``build/screenshots/``: ``<notebook>.png`` (the slider cell after the moves),
``<notebook>-FAILED.png`` (the page when the test failed).

Needs Debian's Chromium at ``/usr/bin/chromium`` and ``pip install -e ".[browser]"`` (Playwright,
Pillow); skipped otherwise. Never ``playwright install``: the system Chromium is used.

Environment knobs: ``PINNLAB_BROWSER_RUN_TIMEOUT`` (seconds for "run all cells", default 900 —
generous so that a missing quick cache means training, not a failure),
``PINNLAB_BROWSER_HEADED=1`` to watch it.
"""
from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium) "
                "to run the browser test", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: "
                               "pip install -e '.[browser]' (never `playwright install`)")
Image = pytest.importorskip("PIL.Image", reason="pillow is not installed: pip install -e '.[browser]'")
from PIL import ImageChops  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SHOTS = ROOT / "build" / "screenshots"

RUN_TIMEOUT = float(os.environ.get("PINNLAB_BROWSER_RUN_TIMEOUT", "900"))
START_TIMEOUT = 180.0     # JupyterLab start, kernel start (a loaded 2-core machine is slow)
REDRAW_TIMEOUT = 120.0    # one slider move → new image
SETTLE_S = 1.0            # "nothing changed for this long, kernel idle" before comparing

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # without this Chromium still resolves outside hosts; with it nothing leaves loopback
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]

STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]'
IDLE = '.jp-Notebook-ExecutionIndicator[data-status="idle"]'


# --------------------------------------------------------------------------- JupyterLab server
class Lab:
    """A JupyterLab server isolated from the user's settings, on a free localhost port."""

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        self.token = secrets.token_hex(24)
        self.log_path = base / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, path: str, method: str = "GET", timeout: float = 10.0):
        req = urllib.request.Request(self.url + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
            return r.status, (json.loads(body) if body else None)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"

    def _environment(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "JUPYTER_TOKEN")}
        dirs = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data", "JUPYTER_RUNTIME_DIR": "runtime",
                "JUPYTERLAB_SETTINGS_DIR": "settings", "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
                "IPYTHONDIR": "ipython", "MPLCONFIGDIR": "matplotlib"}
        for var, sub in dirs.items():
            (self.base / sub).mkdir(parents=True, exist_ok=True)
            env[var] = str(self.base / sub)
        env["PINNLAB_MODE"] = "quick"
        return env

    def _write_settings(self) -> None:
        lab_config = {"LabApp": {"news_url": None,
                                 "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                                 "expose_app_in_browser": True}}
        for name in ("jupyter_server_config.json", "jupyter_lab_config.json"):
            (self.base / "config" / name).write_text(json.dumps(lab_config))
        settings = {
            # no news / update toast over the page
            "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
            # every cell in the DOM (no virtual scrolling), so every prompt and output can be checked
            "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
            # never write the executed copy back (it is a temporary copy anyway)
            "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        }
        for key, value in settings.items():
            p = self.base / "settings" / f"{key}.jupyterlab-settings"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(value))

    def start(self, notebooks: list[Path]) -> None:
        self.root.mkdir(parents=True)
        for nb in notebooks:  # a copy: the repository's notebooks stay untouched (no outputs, no checkpoints)
            shutil.copy2(nb, self.root / nb.name)
        env = self._environment()
        self._write_settings()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.proc = subprocess.Popen(cmd, env=env, cwd=self.base, stdin=subprocess.DEVNULL,
                                     stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self.api("/api/status", timeout=5)[0] == 200:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer /api/status within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def session(self, name: str) -> dict | None:
        _, sessions = self.api("/api/sessions")
        return next((s for s in sessions if Path(s.get("path", "")).name == name), None)

    def stop_kernel(self, name: str) -> None:
        try:
            s = self.session(name)
            if s:
                self.api(f"/api/sessions/{s['id']}", method="DELETE", timeout=30)
        except (urllib.error.URLError, OSError):
            pass

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.api("/api/shutdown", method="POST", timeout=10)
        except (urllib.error.URLError, OSError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # only the server we started
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("jupyterlab"))
    try:
        server.start(NOTEBOOKS)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=os.environ.get("PINNLAB_BROWSER_HEADED") != "1",
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(60_000)
        try:
            yield context
        finally:
            context.close()


# --------------------------------------------------------------------------- page helpers
def _poll(fn, timeout: float, what: str, interval: float = 0.25):
    """Call ``fn`` until it returns something truthy; raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _no_dialog(page) -> None:
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        raise AssertionError(f"a JupyterLab dialog opened: {dialog.first.inner_text()[:500]!r}")


def _stderr_texts(page) -> list[str]:
    return page.locator(f".jp-Notebook {STDERR}").all_inner_texts()


# Execution counts from the notebook model (a cell with hidden input shows no prompt number in the DOM).
_CELL_STATE = """(name) => {
  let panel = null;
  for (const w of window.jupyterapp.shell.widgets('main')) {
    if (w.context && w.context.path.split('/').pop() === name) panel = w;
  }
  if (!panel) return null;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  return {cells: cells.length,
          done: cells.filter(c => c.model.executionCount !== null).length,
          busy: [...panel.node.querySelectorAll('.jp-InputArea-prompt')].filter(p => p.textContent.includes('*')).length,
          stderr: panel.node.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]').length};
}"""


def _wait_kernel(page, lab: Lab, name: str) -> None:
    """The kernel exists, is idle and the page is connected to it (not just the indicator's idle)."""
    def ready():
        _no_dialog(page)
        s = lab.session(name)
        k = (s or {}).get("kernel") or {}
        return k.get("execution_state") == "idle" and k.get("connections", 0) >= 1
    _poll(ready, START_TIMEOUT, f"the kernel of {name} (GET /api/sessions)", interval=0.5)
    page.wait_for_selector(IDLE, timeout=START_TIMEOUT * 1000)


def _run_all(page, name: str) -> None:
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    last = {}

    def finished():
        _no_dialog(page)
        st = page.evaluate(_CELL_STATE, name)
        assert st is not None, f"{name} is not open in JupyterLab's main area"
        last.update(st)
        idle = page.locator(IDLE).count() > 0
        if idle and (st["stderr"] or (st["busy"] == 0 and st["done"] == st["cells"])):
            return st  # all run, or an error/warning appeared (reported below)
        return None
    try:
        st = _poll(finished, RUN_TIMEOUT, f"'Run All Cells' of {name} to finish", interval=1.0)
    except TimeoutError as e:
        raise TimeoutError(f"{e} (code cells: {last})") from None
    errors = _stderr_texts(page)
    assert not errors, f"{name}: stderr output after running all cells:\n" + "\n---\n".join(e[:2000] for e in errors)
    assert st["done"] == st["cells"], f"{name}: only {st['done']} of {st['cells']} code cells ran"


# Tag every slider with data-pinnlab-slider=<i> and the output area it drives (the nearest
# `pinnlab-panel*` element in the slider's enclosing widget box) with data-pinnlab-panel=<k>;
# sliders of one panel share its k.
_TAG_SLIDERS = """() => {
  const out = [];
  let panels = 0;
  const sliders = [...document.querySelectorAll('.jp-Notebook [class*="pinnlab-slider-"]')];
  sliders.forEach((el, i) => {
    const name = [...el.classList].find(c => c.startsWith('pinnlab-slider-')).slice('pinnlab-slider-'.length);
    el.setAttribute('data-pinnlab-slider', String(i));
    let panel = null;
    for (let a = el.parentElement; a && !panel; a = a.parentElement) {
      if (a.classList.contains('jp-Cell')) break;
      panel = [...a.querySelectorAll('[class*="pinnlab-panel"]')].find(p => !p.contains(el)) || null;
    }
    if (panel && !panel.hasAttribute('data-pinnlab-panel')) panel.setAttribute('data-pinnlab-panel', String(panels++));
    out.push({index: i, name: name, handles: el.querySelectorAll('.noUi-handle').length,
              panelIndex: panel ? Number(panel.getAttribute('data-pinnlab-panel')) : null,
              panel: panel ? [...panel.classList].filter(c => c.startsWith('pinnlab-panel')).join(' ') : null});
  });
  return out;
}"""

_IMG_STATE = """(i) => {
  const panel = document.querySelector(`[data-pinnlab-panel="${i}"]`);
  if (!panel) return null;
  const img = panel.querySelector('img');
  return {src: img ? img.src : null,
          loaded: !!img && img.complete && img.naturalWidth > 0,
          stderr: panel.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]').length};
}"""


def _png(locator):
    return Image.open(io.BytesIO(locator.screenshot(animations="disabled"))).convert("RGB")


def _move_slider(page, info: dict, name: str) -> None:
    """Move slider ``info`` one step, wait for its panel to redraw and settle, assert the image changed."""
    i, label = info["panelIndex"], f"{name}: slider {info['name']!r} ({info['panel']})"
    slider = page.locator(f'[data-pinnlab-slider="{info["index"]}"]')
    img = page.locator(f'[data-pinnlab-panel="{i}"] img').first
    handle = slider.locator(".noUi-handle").first
    img.scroll_into_view_if_needed()
    _poll(lambda: (page.evaluate(_IMG_STATE, i) or {}).get("loaded"), REDRAW_TIMEOUT, f"{label}: the first image")
    before, src0 = _png(img), page.evaluate(_IMG_STATE, i)["src"]

    # noUiSlider's aria-valuenow is rounded to one decimal; aria-valuetext is the formatted value
    def value():
        return handle.get_attribute("aria-valuetext") or handle.get_attribute("aria-valuenow")
    v0 = value()
    handle.focus()
    for key in ("ArrowRight", "ArrowLeft"):  # ArrowLeft only when the slider already sits at its maximum
        page.keyboard.press(key)
        try:
            _poll(lambda: value() != v0, 5, "")
            break
        except TimeoutError:
            continue
    else:
        raise AssertionError(f"{label}: ArrowRight/ArrowLeft on the focused handle did not move it (value {v0})")

    def redrawn():
        _no_dialog(page)
        st = page.evaluate(_IMG_STATE, i)
        return st and (st["stderr"] or (st["loaded"] and st["src"] != src0))
    _poll(redrawn, REDRAW_TIMEOUT, f"{label}: a new image after the move")

    # one move can render two or three images in a row: wait until nothing changes, kernel idle
    last, stable_since = None, time.monotonic()

    def settled():
        nonlocal last, stable_since
        st = page.evaluate(_IMG_STATE, i)
        idle = page.locator(IDLE).count() > 0
        key = (st["src"], st["loaded"], st["stderr"], idle)
        if key != last:
            last, stable_since = key, time.monotonic()
        return idle and st["loaded"] and time.monotonic() - stable_since >= SETTLE_S
    _poll(settled, REDRAW_TIMEOUT, f"{label}: the panel to settle", interval=0.2)

    errors = _stderr_texts(page)
    assert not errors, f"{label}: stderr output after the move:\n" + "\n---\n".join(e[:2000] for e in errors)
    after = _png(img)
    changed = before.size != after.size or ImageChops.difference(before, after).getbbox() is not None
    assert changed, f"{label}: moved {v0} → {value()} but the plot did not change"


# --------------------------------------------------------------------------- the test
def test_notebooks_found():
    assert NOTEBOOKS, f"no notebooks/NN_*.ipynb under {ROOT / 'notebooks'}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_sliders_redraw(notebook: Path, lab: Lab, browser):
    name = notebook.name
    SHOTS.mkdir(parents=True, exist_ok=True)
    for stale in [SHOTS / f"{notebook.stem}.png", *SHOTS.glob(f"{notebook.stem}-*.png")]:
        stale.unlink(missing_ok=True)
    page = browser.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=START_TIMEOUT * 1000)
        _wait_kernel(page, lab, name)
        _run_all(page, name)

        sliders = page.evaluate(_TAG_SLIDERS)
        assert sliders, f"{name}: no .pinnlab-slider-* element after running all cells (every notebook needs one)"
        missing = [s["name"] for s in sliders if s["panelIndex"] is None]
        assert not missing, f"{name}: sliders {missing} have no pinnlab-panel output area beside them"
        knobless = [s["name"] for s in sliders if not s["handles"]]
        assert not knobless, f"{name}: .pinnlab-slider-* elements {knobless} have no .noUi-handle (not a slider?)"
        for info in sliders:
            _move_slider(page, info, name)

        # one screenshot per notebook: the cell(s) holding the sliders, after the moves
        cells = page.locator(".jp-Notebook .jp-CodeCell").filter(has=page.locator('[class*="pinnlab-slider-"]'))
        for k in range(cells.count()):
            suffix = "" if k == 0 else f"-{k + 1}"
            cells.nth(k).screenshot(path=str(SHOTS / f"{notebook.stem}{suffix}.png"), animations="disabled")
    except BaseException:
        shot = SHOTS / f"{notebook.stem}-FAILED.png"
        try:  # before the browser context closes
            page.screenshot(path=str(shot))
        except Exception:  # noqa: BLE001 - the original failure matters more
            pass
        # pytest shows captured stdout with the failure
        print(f"failure screenshot: {shot}")
        if console_errors:
            print("browser console errors (last 10):\n" + "\n".join(console_errors[-10:]))
        print(f"JupyterLab log ({lab.log_path}), last lines:\n{lab.log_tail(30)}")
        raise
    finally:
        lab.stop_kernel(name)
        page.close()
