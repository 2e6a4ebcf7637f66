"""The one model-card renderer: a release's README.md, written from its manifest so figures cannot drift from it.

One jinja2 template per provenance kind (`templates/card-trained.md.j2`, `card-rebuilt.md.j2`);
`notes` is free text the release author adds (targets, honest status).
"""

from __future__ import annotations

from pathlib import Path

from streetwatch.models.manifest import ReleaseManifest

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _environment():  # -> jinja2.Environment
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,  # a field the template names and the manifest lacks is an error
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Markdown, not HTML
    )
    env.filters["fmt"] = format  # {{ x | fmt(".3f") }} is format(x, ".3f")
    return env


def render_model_card(manifest: ReleaseManifest, notes: str = "") -> str:
    template = _environment().get_template(f"card-{manifest.provenance.kind}.md.j2")
    return template.render(manifest=manifest, notes=notes)
