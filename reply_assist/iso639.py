"""The ISO 639-1 language codes: the only codes a company's languages and a review's language
hint may use (``"xx"`` is two letters, not a language).

The two-letter codes of the ISO 639 registration authority (Library of Congress), as of 2021,
when ``bh`` (Bihari, a collective code) was withdrawn: 183 codes. They change rarely; kept
here as data rather than a dependency (``pycountry`` carries every ISO 3166/4217/15924 table
besides, ~30 MB, for this one list).
"""

from __future__ import annotations

from typing import Final

__all__ = ["ISO_639_1", "is_iso_639_1"]

_CODES: Final = """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky
    la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny
    oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss
    st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo
    za zh zu
"""
ISO_639_1: Final = frozenset(_CODES.split())


def is_iso_639_1(code: str) -> bool:
    """Whether a tag's primary language (``en`` of ``en-GB``, ``pt`` of ``pt_BR``) is ISO 639-1."""
    primary = code.replace("_", "-").partition("-")[0].lower()
    return primary in ISO_639_1
