"""The one TOML writer reads back (tomllib) to the values written, for any text and any float."""
from __future__ import annotations

import math
import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from rsilab.core.toml_text import to_toml

_scalar = st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=20))
_value = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)
_doc = st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(_value, st.dictionaries(st.text(max_size=8), _value, max_size=3)),
                       max_size=4)


@settings(max_examples=200, deadline=None)
@given(_doc)
def test_written_documents_read_back_equal(doc):
    assert tomllib.loads(to_toml(doc)) == doc


def test_nan_and_infinities_read_back():
    back = tomllib.loads(to_toml({"x": [math.nan, math.inf, -math.inf]}))["x"]
    assert math.isnan(back[0]) and back[1:] == [math.inf, -math.inf]
