"""The wheel carries what the code reads at run time besides its modules: the demo and sandbox
data (fixtures/), the documented operations (graphql/), and the catalogs compiled to .mo (which
are build output, never committed). They go to ``addon/_data/`` (see addon/base/core/resources.py)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithRuntimeData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders directly
        target = Path(self.build_lib) / "addon" / "_data"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(HERE / "fixtures", target / "fixtures")
        (target / "graphql").mkdir(parents=True)
        shutil.copytree(HERE / "graphql" / "operations", target / "graphql" / "operations")
        shutil.copy2(HERE / "graphql" / "trusted-documents.json", target / "graphql" / "trusted-documents.json")
        compile_catalogs(HERE / "i18n", target / "i18n")


def compile_catalogs(source: Path, target: Path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as infile:
            catalog = read_po(infile, locale=po.parts[-3])
        with mo.open("wb") as outfile:
            write_mo(outfile, catalog)


setup(cmdclass={"build_py": BuildWithRuntimeData})
