"""Write the ipywidgets stylesheet that Voilà's widget manager injects with its scripts to a static file of the
``keurmerk`` template (``static/widgets.css``), for the first screen drawn before those scripts ran
(keurmerk/dashboard/first_screen.py).

    .venv/bin/python scripts/widgets_css.py

Run again when Voilà or ipywidgets is upgraded: it reads the CSS strings out of the installed
``@voila-dashboards/widgets-manager8`` extension's chunks (webpack's css-loader keeps each file as one string).
"""

from __future__ import annotations

import json
import re
import sys
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "keurmerk" / "voila_template" / "voila" / "templates" / "keurmerk" / "static" / "widgets.css"
EXTENSION = Path(sys.prefix) / "share" / "jupyter" / "voila" / "labextensions" / "@voila-dashboards" / "widgets-manager8" / "static"
# css-loader: ___CSS_LOADER_EXPORT___.push([module.id, "<css>", ""]) with the CSS as a JS string literal, or as a
# template literal when it holds an asset's URL (${h}: the dropdown's arrow, a data: URL in another chunk)
CSS_STRING = re.compile(r'push\(\[\w+\.id,("(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`)')
ASSET = re.compile(r'\b2426:\w+=>\{"use strict";\w+\.exports="(data:[^"]+)"')


def main() -> None:
    sheets = []
    chunks = [chunk.read_text() for chunk in sorted(EXTENSION.glob("*.js"))]
    arrows = [m.group(1) for text in chunks if (m := ASSET.search(text))]
    for text in chunks:
        for literal in CSS_STRING.findall(text):
            if literal.startswith("`"):  # a template literal: its one substitution is the arrow's URL
                literal = '"' + literal[1:-1].replace('"', '\\"').replace("${h}", arrows[0] if arrows else "") + '"'
            css = json.loads(literal)
            if "widget" in css or "lm-" in css:
                sheets.append(css)
    if not sheets:
        raise SystemExit(f"no stylesheet found in {EXTENSION}")
    header = (f"/* ipywidgets {version('ipywidgets')} and Lumino styles as Voilà {version('voila')}'s widget manager "
              "injects them (BSD-3-Clause, Project Jupyter). Written by scripts/widgets_css.py. */\n")
    OUT.write_text(header + "\n".join(sheets))
    print(f"{len(sheets)} stylesheets, {OUT.stat().st_size} bytes -> {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
