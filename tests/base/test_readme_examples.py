"""Every GraphQL example of the README runs exactly as written, on `make run`'s demo data (the
Resivo sandbox mounted in the app): with an admin token unless its ``# role:`` line names another,
with the ``# variables:`` it gives. Those followed by a ```json answer must answer that (a subset,
see test_readme_frontend.py, which runs the "For frontend developers" section's the same way);
the others must answer without errors."""

from __future__ import annotations

import json
import re

import pytest

from addon.base.core.settings import REPO_ROOT
from tests.base.test_graphql_operations import demo, env_overrides  # noqa: F401 (fixtures)
from tests.base.test_readme_frontend import FENCE, SECTION, contains, header

pytestmark = pytest.mark.anyio


def examples() -> list[tuple[str, str, dict | None]]:
    """(heading, text, answer) of each ```graphql block outside the frontend section."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    outside = readme[:start] + readme[end:]
    blocks = list(FENCE.finditer(outside))
    found = []
    for index, block in enumerate(blocks):
        if block.group(1) != "graphql":
            continue
        heading = re.findall(r"^#+ (.+)$", outside[:block.start()], re.M)[-1]
        answer = None
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if following is not None and following.group(1) == "json" and not outside[block.end():following.start()].strip():
            answer = json.loads(following.group(2))
        found.append((heading, block.group(2), answer))
    return found


EXAMPLES = examples()


def test_the_readme_has_examples_outside_the_frontend_section():
    assert len(EXAMPLES) >= 4
    assert any(heading == "A first door link" for heading, _, _ in EXAMPLES)


@pytest.mark.parametrize("heading,text,answer", EXAMPLES, ids=[f"example-{n + 1}" for n in range(len(EXAMPLES))])
async def test_the_example_runs_as_written(heading, text, answer, demo, http, tokens):  # noqa: F811
    role = header(text, "role") or "admin"
    variables = json.loads(header(text, "variables") or "{}")
    response = await http.post("/graphql", json={"query": text, "variables": variables},
                               headers={"Authorization": f"Bearer {tokens[role]}"})
    got = response.json()
    assert response.status_code == 200 and not got.get("errors"), (heading, got)
    assert got["data"] and all(value is not None for value in got["data"].values()), (heading, got)
    if answer is not None:
        contains(got, answer)
