"""Documentation generated from the code is current, and README documents every setting."""

from pathlib import Path

import pytest

from mac_assets.docs import DOCS, RENDERERS
from mac_assets.infra.settings import ENV_VARS

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_generated_docs_match_the_code(name):
    assert (DOCS / name).read_text(encoding="utf-8") == RENDERERS[name](), (
        f"docs/{name} is stale: run `python -m mac_assets.docs`"
    )


def test_readme_starts_with_the_run_and_test_commands():
    head = README.read_text(encoding="utf-8").split("\n## ")[0]
    assert "make run" in head and "make test" in head


@pytest.mark.parametrize("variable", sorted(ENV_VARS))
def test_readme_documents_every_environment_variable(variable):
    assert f"`{variable}`" in README.read_text(encoding="utf-8")
