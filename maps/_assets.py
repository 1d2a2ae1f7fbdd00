"""The local copies of the JavaScript and CSS that folium would otherwise fetch from CDNs.

folium and its plugins add ``<script>``/``<link>`` elements to the page header under stable
names (``"leaflet"``, ``"markerclusterjs"``...). :data:`LINKS` maps each name to local files;
:func:`localise_header` swaps every CDN link of a rendered figure for them, so no map ever
asks the internet for code. A CDN link without a local copy is a programming error: it raises
instead of silently leaving a map that is blank offline.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import xstatic.pkg.leaflet
from branca.element import CssLink, Element, JavascriptLink

VENDOR_DIR = Path(__file__).with_name("static") / "vendor"
LEAFLET_DIR = Path(xstatic.pkg.leaflet.BASE_DIR)


@dataclass(frozen=True)
class Bundle:
    """The local files standing for one folium header link.

    Attributes
    ----------
    linked
        Asset paths put in the page, in order (``.js`` files as scripts, ``.css`` as styles).
    extra
        Asset paths the linked CSS refers to (images, fonts), copied alongside.
    """

    linked: tuple[str, ...]
    extra: tuple[str, ...] = ()


_LEAFLET_IMAGES = tuple(
    f"leaflet/images/{n}"
    for n in (
        "layers.png",
        "layers-2x.png",
        "marker-icon.png",
        "marker-icon-2x.png",
        "marker-shadow.png",
    )
)

# folium/branca header-link name -> local bundle, or None when dropped on purpose (see the
# vendor README: villenum maps use no Bootstrap, and their icons use the "fa" prefix).
LINKS: dict[str, Bundle | None] = {
    "leaflet": Bundle(("leaflet/leaflet.js",)),
    "leaflet_css": Bundle(("leaflet/leaflet.css",), _LEAFLET_IMAGES),
    "jquery": Bundle(("jquery/jquery.min.js",)),
    "bootstrap": None,
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_rotate_css": None,
    "awesome_markers": Bundle(("awesome-markers/leaflet.awesome-markers.min.js",)),
    "awesome_markers_css": Bundle(
        ("awesome-markers/leaflet.awesome-markers.css",),
        tuple(
            f"awesome-markers/images/{n}"
            for n in (
                "markers-soft.png",
                "markers-soft@2x.png",
                "markers-shadow.png",
                "markers-shadow@2x.png",
            )
        ),
    ),
    "awesome_markers_font_css": Bundle(
        ("fontawesome/css/fontawesome.min.css", "fontawesome/css/solid.min.css"),
        ("fontawesome/webfonts/fa-solid-900.woff2",),
    ),
    "markerclusterjs": Bundle(("markercluster/leaflet.markercluster.js",)),
    "markerclustercss": Bundle(("markercluster/MarkerCluster.css",)),
    "markerclusterdefaultcss": Bundle(("markercluster/MarkerCluster.Default.css",)),
}

_CSS_URL = re.compile(r"""url\((['"]?)([^'")]+)\1\)""")
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def source_path(asset: str) -> Path:
    """Return the file on disk holding an asset path such as ``"leaflet/leaflet.js"``.

    Raises
    ------
    FileNotFoundError
        If the asset path is not one of the shipped files (also guards against ``..``).
    """
    if asset.startswith("leaflet/"):
        root, rel = LEAFLET_DIR, asset.removeprefix("leaflet/")
    else:
        root, rel = VENDOR_DIR, asset
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        raise FileNotFoundError(f"no such map asset: {asset}")
    return path


def all_assets() -> set[str]:
    """Every asset path that may be served (the linked files and what their CSS needs)."""
    return {a for b in LINKS.values() if b for a in (*b.linked, *b.extra)}


def is_external(url: str) -> bool:
    """Whether a URL points to another host (``https://...``, ``//cdn...``)."""
    return bool(_EXTERNAL.match(url))


def localise_header(header: Element, mode: str, base: str) -> set[str]:
    """Replace every external script/style link of a figure header by its local copy.

    Parameters
    ----------
    header
        ``figure.header`` after the figure's children have rendered (they add their links).
    mode
        ``"url"`` links the assets as ``{base}/{asset}``; ``"inline"`` embeds them in the page.
    base
        The URL prefix of the assets in ``"url"`` mode (relative or absolute path).

    Returns
    -------
    set of str
        The asset paths the page now uses (to copy next to a saved HTML file).

    Raises
    ------
    ValueError
        If a link points to a CDN file that has no local copy.
    """
    used: set[str] = set()
    children = header._children
    for name, child in list(children.items()):
        if not isinstance(child, JavascriptLink | CssLink) or not is_external(child.url):
            continue
        if name not in LINKS:
            raise ValueError(
                f"map asset {name!r} ({child.url}) has no offline copy: vendor it in "
                f"maps/static/vendor and list it in villenum.maps._assets.LINKS"
            )
        bundle = LINKS[name]
        if bundle is None:
            del children[name]
            continue
        html = "".join(_tag(a, mode, base) for a in bundle.linked)
        if name == "leaflet" and mode == "inline":
            html += _inline_default_icon()
        replacement = Element(html)
        replacement._parent = header
        children[name] = replacement
        used.update(bundle.linked)
        used.update(bundle.extra)
    return used


def _tag(asset: str, mode: str, base: str) -> str:
    if mode == "inline":
        text = source_path(asset).read_text(encoding="utf-8")
        if asset.endswith(".js"):
            # "</script" inside the code would end the element early; "<\/" is the same in JS
            text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)
            return f"<script>{text}</script>\n"
        return f"<style>{_inline_css_urls(asset, text)}</style>\n"
    url = f"{base}/{asset}"
    if asset.endswith(".js"):
        return f'<script src="{url}"></script>\n'
    return f'<link rel="stylesheet" href="{url}"/>\n'


def _inline_css_urls(asset: str, css: str) -> str:
    """Turn the relative ``url()`` references of a stylesheet into ``data:`` URIs."""
    folder = asset.rsplit("/", 1)[0]

    def data_uri(match: re.Match[str]) -> str:
        ref = match.group(2)
        if ref.startswith(("data:", "#")) or is_external(ref):
            return match.group(0)
        return f"url({_data_uri(_normalise(f'{folder}/{ref}'))})"

    return _CSS_URL.sub(data_uri, css)


def _normalise(asset: str) -> str:
    parts: list[str] = []
    for part in asset.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def _data_uri(asset: str) -> str:
    path = source_path(asset)
    mime = "font/woff2" if path.suffix == ".woff2" else mimetypes.guess_type(path.name)[0]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_default_icon() -> str:
    # Leaflet finds its marker images from the CSS file's URL, which an inlined page lacks.
    icons = {
        "iconUrl": "leaflet/images/marker-icon.png",
        "iconRetinaUrl": "leaflet/images/marker-icon-2x.png",
        "shadowUrl": "leaflet/images/marker-shadow.png",
    }
    options = ",".join(f'{k}:"{_data_uri(v)}"' for k, v in icons.items())
    script = f'L.Icon.Default.imagePath="";L.Icon.Default.mergeOptions({{{options}}});'
    return f"<script>{script}</script>\n"


def copy_assets(assets: Iterable[str], folder: Path) -> None:
    """Copy asset files into ``folder``, keeping their relative layout."""
    for asset in sorted(assets):
        target = folder / asset
        target.parent.mkdir(parents=True, exist_ok=True)
        data = source_path(asset).read_bytes()
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)
