"""Griffe extension for the API reference: reads the package's reStructuredText-flavoured docstrings.

The docstrings follow torch's conventions (Google sections, ``Example::`` blocks and Sphinx roles
such as ``:class:`torch.nn.Linear```); mkdocstrings renders Markdown. This extension rewrites
each docstring before it is parsed: roles become code spans (``~a.b.C`` shows ``C``), and
``Example::`` / ``Examples::`` become the ``Examples:`` section, so that the ``>>>`` lines render
as code. The source files are not changed.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension

_ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|obj|exc|math|ref|const|py:\w+):`(~?)([^`]+)`")
_EXAMPLE = re.compile(r"^(\s*)Examples?::\s*$", re.M)


def _role(match: "re.Match[str]") -> str:
    tilde, target = match.groups()
    if tilde:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def rst_to_markdown(text: str) -> str:
    """The docstring ``text`` with Sphinx roles as code spans and ``Example::`` as a section."""
    text = _ROLE.sub(_role, text)
    return _EXAMPLE.sub(r"\1Examples:", text)


class RstRoles(Extension):
    """Applies :func:`rst_to_markdown` to every docstring griffe loads."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        docstring = getattr(obj, "docstring", None)
        if docstring is not None and docstring.value:
            docstring.value = rst_to_markdown(docstring.value)
