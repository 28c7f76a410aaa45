"""``smp-gym view`` in a real browser: Debian's headless Chromium driven by Selenium through
``/usr/bin/chromedriver`` (nothing downloads a browser). The viewer runs as a subprocess on a free
localhost port; the test waits for the page to show the running env, pauses it, moves the speed
slider with the keyboard (three steps of 0.1 m/s) and checks that the env's command changed: the
viewer's log line (the command read back from the env's mjlab command term) and the page's status
block both say 0.3 m/s. A screenshot of the page must not be blank.

``SMP_GYM_SAVE_FIGURES=1`` also writes the screenshot to docs/figures/viewer.png."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
pytestmark = [
    pytest.mark.sim,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and DRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver; .ci/run installs them)",
    ),
]
selenium = pytest.importorskip("selenium", reason="pip install selenium (the dev extra)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, poll: float = 1.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def viewer(tmp_path):
    port, log = free_port(), tmp_path / "view.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "smp_gym.cli", "view", "SmpSteeringG1-v0", "--port", str(port)]
    cmd += ["--out", str(tmp_path / "clips")]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: f"smp-gym view: {url}" in log.read_text() or proc.poll(), 600, "the URL")
        assert proc.poll() is None, log.read_text()[-3000:]
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,720",
        "--enable-unsafe-swiftshader",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(120)  # a busy CPU machine: the page answers slowly
    yield driver
    driver.quit()


def commands(log: Path) -> list[dict]:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [r["command"] for r in rows if r.get("event") == "command"]


def test_slider_sets_the_command_and_the_page_shows_the_scene(viewer, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, log = viewer
    browser.get(url)
    status = lambda: browser.execute_script("return document.body.innerText")  # noqa: E731
    wait_for(lambda: "SmpSteeringG1-v0" in status() and "running" in status(), 300, "the env")
    wait_for(lambda: browser.find_elements(By.TAG_NAME, "canvas"), 60, "the 3D scene")
    pause = browser.find_element(By.XPATH, "//button[normalize-space()='Pause']")
    pause.click()
    wait_for(lambda: "paused" in status(), 60, "the pause")

    speed = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "[role=slider][aria-valuemax='2.5']"),
        60,
        "the speed slider",
    )[0]
    speed.click()  # focus; a click may also move it: the keys below set it from where it is
    start = float(speed.get_attribute("aria-valuenow"))
    for _ in range(3):
        speed.send_keys(Keys.ARROW_RIGHT)
    target = round(start + 0.3, 3)
    wait_for(lambda: any(abs(c["speed"] - target) < 1e-6 for c in commands(log)), 120, "the env")
    wait_for(lambda: f'"speed": {target}' in status(), 60, "the page to show the new command")

    shot = tmp_path / "viewer.png"
    time.sleep(3)  # a few more scene updates after the pause
    browser.save_screenshot(str(shot))
    import imageio.v2 as imageio

    img = imageio.imread(shot)[..., :3].astype(np.float32)
    scene = img[:, : int(img.shape[1] * 0.7)]  # left of the control panel
    assert img.std() > 10 and scene.std() > 3, (img.std(), scene.std())
    if os.environ.get("SMP_GYM_SAVE_FIGURES"):
        shutil.copy(shot, REPO / "docs" / "figures" / "viewer.png")
