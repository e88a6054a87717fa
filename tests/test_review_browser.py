"""The review page in a real browser: Debian's headless Chromium driven by selenium through the system
chromedriver (no browser download), against the real `keepers review` (test_review.py starts it)."""

from __future__ import annotations

import shutil
import time

import pytest

from test_review import sidecar, start_review

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian's chromium and chromium-driver (make test installs them)")


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    from keepers.core.lab import demo
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    tmp = tmp_path_factory.mktemp("review_browser")
    demo.build(tmp / "photos")
    page = start_review(tmp / "photos", tmp)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900",
              "--disable-dev-shm-usage"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield page, driver
    finally:
        driver.quit()
        page.proc.terminate()
        page.proc.wait(timeout=30)


def _until(check, timeout=1.0):
    """Whether `check()` comes true within `timeout` seconds."""
    end = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.02)


def test_in_chromium_keys_rate_reject_and_undo_in_the_sidecars_and_compare_shows_a_burst(browser_page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    page, driver = browser_page
    driver.get(page.url)
    WebDriverWait(driver, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#grid .cell")) > 0)
    photos = page.photos()
    cells = driver.find_elements(By.CSS_SELECTOR, "#grid .cell")
    assert len(cells) == len(photos)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth > 0)"))
    first, second = photos[0]["name"], photos[1]["name"]
    was = sidecar(page, second)["rating"]

    def keys():  # a new chain each time: a performed one would be played again
        return ActionChains(driver)

    keys().send_keys("2").perform()
    assert _until(lambda: sidecar(page, first) == {"rating": 2, "rating_set": None}), sidecar(page, first)

    keys().send_keys(Keys.ARROW_RIGHT).send_keys("x").perform()
    assert _until(lambda: sidecar(page, second)["rating"] == -1)
    assert "reject" in driver.find_element(By.CSS_SELECTOR, "#grid .cell.current").get_attribute("class")

    keys().key_down(Keys.CONTROL).send_keys("z").key_up(Keys.CONTROL).perform()
    assert _until(lambda: sidecar(page, second)["rating"] == was)

    burst = next(i for i, p in enumerate(photos) if p["name"] == "burst_2.jpg")
    chain = keys()
    for _ in range(burst - 1):
        chain.send_keys(Keys.ARROW_RIGHT)
    chain.send_keys("c").perform()
    frames = WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#compare .frame"))
    names = sorted(f.find_element(By.TAG_NAME, "h3").text for f in frames)
    assert names == ["burst_1.jpg", "burst_2.jpg", "burst_3.jpg", "burst_4.jpg"]
    assert len(driver.find_elements(By.CSS_SELECTOR, "#compare .frame .won")) == 1
    assert driver.find_element(By.ID, "status").text.startswith(f"{burst + 1}/")

    keys().send_keys("e").perform()
    assert driver.find_element(By.CSS_SELECTOR, "#loupe img").is_displayed()
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_in_chromium_filters_sort_labels_focus_zoom_the_keys_overlay_and_compare_zoom_work(browser_page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from test_review import exiftool_json

    page, driver = browser_page
    driver.get(page.url)
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#grid .cell"))
    photos = page.photos()

    def shown():  # the photos the grid draws, in its order
        return [c.get_attribute("aria-label") for c in driver.find_elements(By.CSS_SELECTOR, "#grid .cell")]

    def keys(*ks):
        ActionChains(driver).send_keys(*ks).perform()

    keys("?")
    assert "Ctrl+Shift+Z" in driver.find_element(By.ID, "help").text  # every key listed
    keys(Keys.ESCAPE)
    assert not driver.find_element(By.ID, "help").is_displayed()

    Select(driver.find_element(By.NAME, "flag")).select_by_value("reject")
    rejects = sorted(p["name"] for p in photos if p["flag"] == "reject")
    assert rejects and sorted(shown()) == rejects
    Select(driver.find_element(By.NAME, "flag")).select_by_value("")
    Select(driver.find_element(By.NAME, "sort")).select_by_value("score-desc")
    assert shown()[0] == max(photos, key=lambda p: p["score"])["name"]
    Select(driver.find_element(By.NAME, "sort")).select_by_value("time")
    assert shown() == [p["name"] for p in photos]  # capture order again

    astronaut = next(p for p in photos if p["name"] == "astronaut.jpg")
    driver.find_element(By.CSS_SELECTOR, f'#grid .cell[data-id="{astronaut["id"]}"]').click()
    keys("6")  # Lightroom's red label
    assert _until(lambda: exiftool_json(page.folder / "astronaut.jpg.xmp", tags=("-XMP-xmp:Label",))[0]
                  .get("Label") == "Red")
    WebDriverWait(driver, 5).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#grid .cell.current .label.red"))

    keys("z")  # the loupe at 100 % where focus was judged (the astronaut's face)
    crop = WebDriverWait(driver, 30).until(lambda d: d.find_element(By.CSS_SELECTOR, "#loupe img.crop"))
    assert crop.get_attribute("src").endswith(f"/img/{astronaut['id']}/crop")
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.querySelector('#loupe img.crop').naturalWidth") > 0)
    keys("z")
    assert driver.find_elements(By.CSS_SELECTOR, "#loupe img.photo:not(.crop)")

    burst = next(p for p in photos if p["name"] == "burst_2.jpg")
    keys("g")
    driver.find_element(By.CSS_SELECTOR, f'#grid .cell[data-id="{burst["id"]}"]').click()
    keys("c")
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('#compare .view img')].every(i => i.naturalWidth > 0 && i.style.width)"))
    sizes = driver.execute_script("""
        const v = document.querySelector('#compare .view'), r = v.getBoundingClientRect();
        v.dispatchEvent(new WheelEvent('wheel', {deltaY: -400, clientX: r.left + r.width / 3,
                                                 clientY: r.top + r.height / 3, bubbles: true, cancelable: true}));
        return [...document.querySelectorAll('#compare .view')].map(v => {
          const i = v.querySelector('img');
          return [i.offsetWidth / v.clientWidth, (v.clientWidth / 2 - i.offsetLeft) / i.offsetWidth,
                  (v.clientHeight / 2 - i.offsetTop) / i.offsetHeight]; });""")
    assert len(sizes) == 4 and sizes[0][0] > 1.5  # zoomed in...
    for s in sizes[1:]:  # ...and every frame shows the same part of its photo at the same scale
        assert abs(s[1] - sizes[0][1]) < 0.02 and abs(s[2] - sizes[0][2]) < 0.02
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_in_chromium_stars_pressed_fast_end_on_the_last_key_pressed_in_the_page_and_the_sidecar(browser_page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page, driver = browser_page
    driver.get(page.url)
    WebDriverWait(driver, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#grid .cell")) > 0)
    name = "motorcycle.jpg"
    driver.execute_script("S.index = S.order.findIndex(p => p.name === arguments[0]); render()", name)
    shown = "return S.order[S.index].rating"
    ended = []
    for keys in ["12345", "54321"] * 6:  # before: 2 runs in 8 ended one key early (the requests raced)
        ActionChains(driver).send_keys(keys).perform()
        last = int(keys[-1])
        _until(lambda: sidecar(page, name)["rating"] == last and driver.execute_script(shown) == last, 3.0)
        time.sleep(0.3)  # a late answer would change them again
        ended.append((keys, driver.execute_script(shown), sidecar(page, name)["rating"]))
    assert all(page_stars == file_stars == int(keys[-1]) for keys, page_stars, file_stars in ended), ended


def test_in_chromium_two_windows_each_undo_their_own_change_and_show_what_the_other_changed(browser_page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    page, driver = browser_page
    driver.get(page.url)
    first = driver.current_window_handle
    driver.switch_to.new_window("window")  # the page opened a second time, beside the first
    second = driver.current_window_handle
    driver.get(page.url)
    for w in (first, second):
        driver.switch_to.window(w)
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#grid .cell"))
    shown = "return S.byId.get(S.order.find(p => p.name === arguments[0]).id).rating"

    def on(window, name):  # that window, showing that photo
        driver.switch_to.window(window)
        driver.execute_script("S.index = S.order.findIndex(p => p.name === arguments[0]); render()", name)

    def undo():
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("z").key_up(Keys.CONTROL).perform()

    was = sidecar(page, "coffee_dark.jpg")["rating"]
    stars = 2 if was != 2 else 3
    on(first, "coffee_dark.jpg")
    ActionChains(driver).send_keys(str(stars)).perform()
    assert _until(lambda: sidecar(page, "coffee_dark.jpg")["rating"] == stars, 3.0)

    on(second, "coffee_dark.jpg")  # before: it showed the stars it had loaded until reloaded
    assert _until(lambda: driver.execute_script(shown, "coffee_dark.jpg") == stars, 5.0)
    assert _until(lambda: "★" * stars + "☆" * (5 - stars) in driver.find_element(By.ID, "status").text, 1.0)
    undo()
    undo()  # before: the review's one history, and this window's undo took back the first window's change
    time.sleep(0.5)
    assert sidecar(page, "coffee_dark.jpg")["rating"] == stars
    rocket = sidecar(page, "rocket.jpg")["rating"]
    on(second, "rocket.jpg")
    ActionChains(driver).send_keys("x").perform()
    assert _until(lambda: sidecar(page, "rocket.jpg")["rating"] == -1, 3.0)
    undo()  # takes back its own reject, and only that
    assert _until(lambda: sidecar(page, "rocket.jpg")["rating"] == rocket, 3.0)
    assert sidecar(page, "coffee_dark.jpg")["rating"] == stars

    on(first, "coffee_dark.jpg")
    undo()  # the first window's own change, taken back there
    assert _until(lambda: sidecar(page, "coffee_dark.jpg")["rating"] == was, 3.0)
    assert _until(lambda: driver.execute_script(shown, "coffee_dark.jpg") == was, 1.0)
    driver.switch_to.window(second)
    assert _until(lambda: driver.execute_script(shown, "coffee_dark.jpg") == was, 5.0)
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    driver.close()
    driver.switch_to.window(first)
    assert errors == []
