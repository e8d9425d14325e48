"""The README's "For frontend developers" examples run, and answer what the README shows.

Each ```graphql block of the section runs on `make run`'s demo data with a token of the role its
``# role:`` line names (and the ``# variables:`` it gives); the ```json block right after it is
the answer, compared as a subset (every key shown must be there with that value; lists have the
length shown). Subscriptions run over a WebSocket to a real uvicorn.
"""

from __future__ import annotations

import json
import re

import pytest

from addon.base.core.settings import REPO_ROOT
from tests.base.test_graphql_operations import demo, env_overrides, subscribe_once  # noqa: F401 (fixtures)

pytestmark = pytest.mark.anyio

SECTION = "## For frontend developers"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def examples() -> list[tuple[str, dict | None]]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    blocks = [(m.group(1), m.group(2), m.start(), m.end())
              for m in FENCE.finditer(readme[start:end if end > 0 else None])]
    found = []
    for index, (lang, text, _begin, finish) in enumerate(blocks):
        if lang != "graphql":
            continue
        answer = None
        if index + 1 < len(blocks) and blocks[index + 1][0] == "json":
            gap = readme[start + finish:start + blocks[index + 1][2]]
            if not gap.strip():
                answer = json.loads(blocks[index + 1][1])
        found.append((text, answer))
    return found


EXAMPLES = examples()


def header(text: str, key: str) -> str | None:
    for line in text.splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    return None


def contains(actual, expected, where="answer") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        for key, value in expected.items():
            assert key in actual, f"{where}: no {key!r} in {actual!r}"
            contains(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for position, (got, want) in enumerate(zip(actual, expected)):
            contains(got, want, f"{where}[{position}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def test_the_section_has_examples_with_answers():
    assert len(EXAMPLES) >= 6 and all(answer is not None for _text, answer in EXAMPLES)
    assert any(text.lstrip("# \n").find("subscription") >= 0 for text, _ in EXAMPLES)


@pytest.mark.parametrize("text,answer", EXAMPLES, ids=[f"example-{n + 1}" for n in range(len(EXAMPLES))])
async def test_the_example_answers_as_shown(text, answer, demo, http, tokens, tmp_path, database_url, clock):  # noqa: F811
    role = header(text, "role") or "admin"
    variables = json.loads(header(text, "variables") or "{}")
    if re.search(r"^\s*subscription\b", text, re.M):
        got = await subscribe_once(text, variables, tokens[role], tmp_path, database_url, clock)
    else:
        response = await http.post("/graphql", json={"query": text, "variables": variables},
                                   headers={"Authorization": f"Bearer {tokens[role]}"})
        got = response.json()
    contains(got, answer)


def test_every_setting_the_code_reads_is_in_the_readme():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    code = "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "addon").rglob("*.py"))
    names = set(re.findall(r"\"((?:IRESERVE|RESIVO|SALTO_KS)_[A-Z_]+)\"", code))
    assert names, "the code reads settings"
    # A row may shorten a family (`IRESERVE_COST_BUDGET_FRONTEND`, `…_STAFF`): the suffix counts then.
    missing = sorted(n for n in names if n not in readme and f"…_{n.rsplit('_', 1)[1]}`" not in readme)
    assert missing == [], f"settings without a word in the README: {missing}"
