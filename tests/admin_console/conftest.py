"""Browser tests of the admin console: the system's Chromium driven by Playwright (sync API),
against the app served by a real uvicorn on 127.0.0.1 with the lock vendors' sandboxes mounted
(Resivo's at /resivo-sandbox, Salto KS's at /salto-ks-sandbox, on the host's clock).

One browser per module (starting Chromium costs a second or two); each test gets its own server
and database, and its own browser context (cookies, language)."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from addon.base.public import (
    DEMO_FILE,
    REPO_ROOT,
    commit,
    create_app,
    create_user,
    load_host,
    seed,
)
from tests.conftest import base_environ
from tests.support.live_server import LiveServer, bound_socket

ARTIFACTS = REPO_ROOT / "var" / "test-artifacts" / "admin-console"
# Headless on a machine without a network: no sandbox for root, and no background traffic
# (without these Chromium waits on connections that never come).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery staple 42"
ADMIN = "admin@example.com"
STAFF = "staff@example.com"
VIEWPORT = {"width": 1280, "height": 800}


def pytest_configure(config):
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)  # a reconcile over real HTTP, on a busy 2-core machine


def chromium_path() -> str:
    found = shutil.which("chromium")
    if not found:
        pytest.fail("The browser tests need Debian's Chromium at /usr/bin/chromium: apt-get install chromium "
                    "(.ci/run installs it when missing).", pytrace=False)
    return found


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


async def _seed(host) -> None:
    demo = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    await seed(host, {**demo, "doorIntegrations": []})  # the console adds the integration itself
    async with host.database.session() as session:
        await create_user(session, email=ADMIN, name="Ada Admin", role="admin", password=PASSWORD)
        await create_user(session, email=STAFF, name="Sam Staff", role="staff", password=PASSWORD)
        await commit(session)


@dataclass
class Console:
    server: LiveServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def sandbox_url(self) -> str:
        return f"{self.server.url}/resivo-sandbox"

    @property
    def salto_sandbox_url(self) -> str:
        """The Salto KS sandbox's own endpoints (openings, faults …); an Acceptance environment
        nobody configured points at this sandbox."""
        return f"{self.server.url}/salto-ks-sandbox/_sandbox"

    def run(self, coroutine, timeout: float = 60):
        """Await ``coroutine`` on the server's own loop (its host, engine and broker live there)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.server.loop).result(timeout)


@pytest.fixture
def console(tmp_path, database_url, clock):
    # The port is known before the app is made: the app reaches its mounted sandboxes and writes the
    # guests' open links with its own address.
    sock = bound_socket()
    environ = base_environ(tmp_path, database_url, IRESERVE_SANDBOX="true", IRESERVE_HOST="127.0.0.1",
                           IRESERVE_PORT=str(sock.getsockname()[1]))
    host = load_host(environ=environ, clock=clock)
    server = LiveServer(create_app(host), sock=sock).start()
    console = Console(server)
    console.run(_seed(host))
    yield console
    server.stop()


class RequestLog:
    """Every request a page makes (documents, scripts, fetches, sockets): where it went."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def attach(self, context) -> None:
        context.on("request", lambda request: self.urls.append(request.url))
        context.on("page", lambda page: page.on("websocket", lambda socket: self.urls.append(socket.url)))

    def foreign(self) -> list[str]:
        return [url for url in self.urls
                if urlparse(url).scheme not in ("data", "blob", "about") and urlparse(url).hostname != "127.0.0.1"]


@pytest.fixture
def open_context(browser):
    """A new browser context (``locale`` sets Accept-Language) whose every request is recorded."""
    made = []

    def open_(locale: str = "en-GB"):
        context = browser.new_context(viewport=VIEWPORT, locale=locale)
        context.set_default_timeout(20_000)
        context.requests = RequestLog()
        context.requests.attach(context)
        made.append(context)
        return context

    yield open_
    for context in made:
        context.close()


def sign_in(page, console: Console, email: str, labels=("Email", "Password", "Sign in")) -> None:
    """Through the sign-in page, by its labels (in the browser's language)."""
    page.goto(f"{console.url}/admin")
    email_label, password_label, button = labels
    page.get_by_label(email_label).fill(email)
    page.get_by_label(password_label).fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"{console.url}/admin#/*")


def screenshot(page, name: str, vendored: tuple[str, ...] = ()) -> Path:
    """Keep a picture of the page; every page kept is also checked with axe (``assert_accessible``),
    but for the ``vendored`` parts (CSS selectors) of code that is not ours."""
    assert_accessible(page, exclude=vendored)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page, exclude: tuple[str, ...] = ()) -> None:
    """axe-core's checks (WCAG A/AA and best practices) on the page as it is: no violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context={"exclude": [[selector] for selector in exclude]} if exclude else None)
    assert results.violations_count == 0, results.generate_report()


UNLABELLED = """() => Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a[href]"))
  .filter((el) => el.offsetParent !== null)
  .filter((el) => !((el.labels && el.labels.length) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")
                    || (["BUTTON", "A"].includes(el.tagName) && el.textContent.trim())))
  .map((el) => el.outerHTML.slice(0, 120))"""


def assert_every_control_labelled(page) -> None:
    assert page.evaluate(UNLABELLED) == []


def api(page, query: str, variables: dict | None = None) -> dict:
    """A GraphQL call with the page's session (as the console makes it); insists on no errors."""
    body = page.evaluate("""async ([query, variables]) => {
      const csrf = decodeURIComponent(document.cookie.split("; ").find((c) => c.startsWith("ireserve_csrf=")).split("=")[1]);
      const response = await fetch("/graphql", {method: "POST", headers: {"Content-Type": "application/json",
        "X-CSRF-Token": csrf}, body: JSON.stringify({query, variables})});
      return response.json();
    }""", [query, variables or {}])
    assert not body.get("errors"), body["errors"]
    return body["data"]


def mutate(page, name: str, input_type: str, values: dict, selection: str = "") -> dict:
    data = api(page, f"mutation($i: {input_type}!) {{ {name}(input: $i) {{ {selection} errors {{ message }} }} }}",
               {"i": values})
    assert data[name]["errors"] == [], data
    return data[name]


def object_ids(page) -> dict[str, str]:
    return {o["name"]: o["id"] for o in api(page, "{ objects { id name } }")["objects"]}


def booking_id(page, reference: str) -> str:
    return api(page, "query($r: String!) { bookingByReference(reference: $r) { id } }", {"r": reference})[
        "bookingByReference"]["id"]
