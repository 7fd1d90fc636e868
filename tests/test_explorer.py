"""The head explorer: markup contract, determinism, escaping, validation, widget, assets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import mha_lib
from course import REPO, python_output
from html_tree import Node, parse, tables
from mha_lib import data
from mha_lib.explorer import (
    STATIC_DIR,
    HeadExplorer,
    format_weight,
    prepare_explorer,
    render_explorer_html,
    show_heads,
)
from mha_lib.explorer import widget as widget_module

PACKAGE = REPO / "mha_lib" / "explorer"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
CAPTION = "Head {h}: attention weights, rows = queries (attending token), columns = keys"
CORNER = "query \u2193 key \u2192"

EXAMPLE = data.running_example()
TOKENS = list(EXAMPLE.tokens)
_, _W = mha_lib.multi_head_attention(
    EXAMPLE.x, EXAMPLE.x, EXAMPLE.x, mha_lib.MHAParams.init(8, seed=0), 2
)
WEIGHTS = np.asarray(_W)  # (2, 10, 10)

HOSTILE = ["<script>alert(1)</script>", "</script><!--", "a & b \"q\" 'q'", "]]> \u2028 \u2029"]


def uniform(num_heads, t_q, t_k):
    return np.full((num_heads, t_q, t_k), 1.0 / t_k)


def data_block(root: Node) -> dict:
    (script,) = root.find_all("script")
    return json.loads(script.text)


@pytest.fixture(scope="module")
def running_html():
    return render_explorer_html(TOKENS, WEIGHTS, explorer_id="heads-running")


# --- determinism --------------------------------------------------------------------------------


def test_render_is_deterministic(running_html):
    assert render_explorer_html(TOKENS, WEIGHTS, explorer_id="heads-running") == running_html
    assert (
        render_explorer_html(tuple(TOKENS), WEIGHTS.copy(), explorer_id="heads-running")
        == running_html
    )
    assert "0x" not in running_html and "uuid" not in running_html.lower()


def test_render_is_identical_across_processes(running_html, tmp_path):
    # mha_lib is loaded as a bare namespace package, so this also proves that rendering
    # stands on its own: numpy only, no torch, no ipywidgets.
    np.save(tmp_path / "weights.npy", WEIGHTS)
    code = (
        "import sys, types; import numpy as np; pkg = types.ModuleType('mha_lib');"
        "pkg.__path__ = ['mha_lib']; sys.modules['mha_lib'] = pkg;"
        "from mha_lib.explorer import render_explorer_html;"
        f"w = np.load({str(tmp_path / 'weights.npy')!r});"
        f"html = render_explorer_html({TOKENS!r}, w, explorer_id='heads-running');"
        "assert not {'torch', 'ipywidgets', 'anywidget'} & set(sys.modules);"
        "sys.stdout.write(html)"
    )
    assert python_output(code, seeds=("0", "12345")) == running_html


# --- the markup contract ------------------------------------------------------------------------


def test_skeleton(running_html):
    root = parse(running_html)
    (wrapper,) = [n for n in root.children if isinstance(n, Node)]
    assert wrapper.tag == "div"
    assert wrapper.attrs == {"class": "mha-explorer", "data-mha-explorer": "heads-running"}
    kids = [n for n in wrapper.children if isinstance(n, Node)]
    assert [(n.tag, n.attrs.get("class")) for n in kids] == [
        ("p", "mha-explorer-caption"),
        ("div", "mha-explorer-tables"),
        ("script", "mha-explorer-data"),
    ]
    assert kids[0].text == (
        "Attention weights of 2 heads for the tokens: the quick brown fox jumps over the lazy dog ."
    )
    assert kids[2].attrs["type"] == "application/json"
    wraps = kids[1].find_all("div", cls="mha-explorer-table-wrap")
    assert len(wraps) == 2
    for h, wrap in enumerate(wraps):
        assert wrap.attrs["tabindex"] == "0" and wrap.attrs["role"] == "group"
        assert wrap.attrs["aria-label"] == f"Head {h}: table of attention weights"
        (table,) = wrap.find_all("table")
        assert table.attrs == {"class": "mha-explorer-table", "data-head": str(h)}
        assert table.find("caption").text == CAPTION.format(h=h)
        heads = table.find("thead").find_all("th")
        assert [th.attrs["scope"] for th in heads] == ["col"] * 11
        assert [th.text for th in heads] == [CORNER, *TOKENS]
        rows = table.find("tbody").find_all("tr")
        assert len(rows) == 10
        for row, token in zip(rows, TOKENS, strict=True):
            th = row.find("th")
            assert th.attrs == {"scope": "row"} and th.text == token
    assert running_html.endswith("</script>\n</div>\n")
    assert not [n for n in root.iter() if n.tag in {"h1", "h2", "h3", "h4", "h5", "h6"}]


def test_table_content_equals_the_rounded_weights(running_html):
    root = parse(running_html)
    assert tables(root) == [
        [[CORNER, *TOKENS]] + [[TOKENS[q]] + [f"{w:.2f}" for w in WEIGHTS[h, q]] for q in range(10)]
        for h in range(2)
    ]
    # Shades carry the 3-decimal weights; the numbers agree with numpy's printing.
    for h, table in enumerate(root.find_all("table")):
        cells = table.find_all("td")
        shades = [float(re.fullmatch(r"--w:(\d\.\d{3})", c.attrs["style"])[1]) for c in cells]
        assert shades == [round(float(w), 3) for w in WEIGHTS[h].ravel()]
        with np.printoptions(precision=2, suppress=True, floatmode="fixed"):
            printed = np.array2string(WEIGHTS[h], separator=" ").replace("[", "").replace("]", "")
        assert [c.text for c in cells] == printed.split()


def test_data_block(running_html):
    block = data_block(parse(running_html))
    assert block == {
        "version": 1,
        "heads": ["Head 0", "Head 1"],
        "tokens": TOKENS,
        "key_tokens": None,
        "weights": [[[round(float(w), 3) for w in row] for row in head] for head in WEIGHTS],
        "display": [[[f"{w:.2f}" for w in row] for row in head] for head in WEIGHTS],
    }
    body = running_html.split('class="mha-explorer-data">')[1].split("</script>")[0]
    assert all(len(n.split(".")[1]) <= 3 for n in re.findall(r"\d+\.\d+(?=[,\]])", body))


def test_format_weight_matches_numpy_and_torch_printing():
    values = np.array([0.125, 0.375, 0.0751, 0.075, 0.005, 0.15492433574644962, 1.0, 0.0])
    assert [format_weight(v) for v in values] == [
        "0.12",
        "0.38",
        "0.08",
        "0.07",
        "0.01",
        "0.15",
        "1.00",
        "0.00",
    ]
    with np.printoptions(precision=2, floatmode="fixed"):
        assert [format_weight(v) for v in values] == np.array2string(values)[1:-1].split()
    f32 = values.astype(np.float32)
    with np.printoptions(precision=2, floatmode="fixed"):
        assert [format_weight(v) for v in f32] == np.array2string(f32)[1:-1].split()


def test_default_and_custom_names_and_caption():
    weights = uniform(3, 2, 2)
    root = parse(render_explorer_html(["a", "b"], weights, explorer_id="x"))
    assert data_block(root)["heads"] == ["Head 0", "Head 1", "Head 2"]
    assert root.find("p").text == "Attention weights of 3 heads for the tokens: a b"
    root = parse(
        render_explorer_html(
            ["a", "b"], weights[:1], explorer_id="x", head_names=["local"], caption="Mine."
        )
    )
    assert root.find("p").text == "Mine."
    assert root.find("caption").text == CAPTION.replace("Head {h}", "local")
    assert data_block(root)["heads"] == ["local"]


def test_fully_masked_rows_and_causal_weights_are_allowed():
    t = 4
    causal = np.tril(np.ones((t, t)))
    weights = np.stack([causal / causal.sum(-1, keepdims=True)] * 2)
    weights[1, 2] = 0.0  # a query whose keys are all masked
    root = parse(render_explorer_html(list("abcd"), weights, explorer_id="causal"))
    assert tables(root)[1][3] == ["c", "0.00", "0.00", "0.00", "0.00"]
    assert tables(root)[0][2] == ["b", "0.50", "0.50", "0.00", "0.00"]


# --- escaping -------------------------------------------------------------------------------------


def test_hostile_text_is_escaped():
    weights = uniform(2, 4, 4)
    markup = render_explorer_html(
        HOSTILE,
        weights,
        explorer_id="hostile",
        head_names=["<b>h0</b>", "</script>"],
        caption="<img src=x onerror=alert(1)> & <!-- c",
    )
    assert "<script>alert" not in markup and "<img" not in markup and "<b>" not in markup
    assert "<!--" not in markup and "\u2028" not in markup.split("mha-explorer-data")[1]
    root = parse(markup)
    allowed = {"div", "p", "table", "caption", "thead", "tbody", "tr", "th", "td", "script"}
    assert {n.tag for n in root.iter()} <= allowed
    assert len(root.find_all("script")) == 1
    assert root.find("p").text == "<img src=x onerror=alert(1)> & <!-- c"
    assert tables(root)[0][0] == [CORNER, *HOSTILE]
    assert [r[0] for r in tables(root)[0][1:]] == HOSTILE
    assert root.find_all("caption")[1].text == CAPTION.replace("Head {h}", "</script>")
    block = data_block(root)
    assert block["tokens"] == HOSTILE and block["heads"] == ["<b>h0</b>", "</script>"]
    # The first "</script>" after the data's opening tag is its own end tag.
    start = markup.index('class="mha-explorer-data">') + len('class="mha-explorer-data">')
    body = markup[start : markup.index("</script>", start)]
    assert "<" not in body and ">" not in body and "&" not in body
    assert markup[start + len(body) :] == "</script>\n</div>\n"


def test_explorer_id_is_checked():
    with pytest.raises(
        ValueError,
        match=r"explorer_id must start with a letter or digit.*"
        r"explorer_id='x\" onmouseover'",
    ):
        render_explorer_html(["a"], [[[1.0]]], explorer_id='x" onmouseover')
    with pytest.raises(TypeError, match="explorer_id must be a str, got int"):
        render_explorer_html(["a"], [[[1.0]]], explorer_id=3)
    with pytest.raises(ValueError, match="explorer_id"):
        render_explorer_html(["a"], [[[1.0]]], explorer_id="")


# --- validation ----------------------------------------------------------------------------------


BAD_INPUT = [  # (tokens, weights, keyword arguments, error, what the message says)
    # wrong number of dimensions
    (TOKENS, WEIGHTS[0], {}, ValueError,
     (r"weights must have 3 dimensions \(num_heads, T_q, T_k\), got weights\.shape=\(10, 10\) "
      r"\(ndim=2\); for a single head .*weights\[None\]")),
    (TOKENS, WEIGHTS[None], {}, ValueError,
     (r"weights\.shape=\(1, 2, 10, 10\) \(ndim=4\); "
      r"for a batch pick one example, e\.g\. weights\[0\]")),
    (TOKENS, np.ones(10), {}, ValueError,
     r"weights must have 3 dimensions .* weights\.shape=\(10,\)"),
    # token counts
    (TOKENS[:9], WEIGHTS, {}, ValueError,
     r"tokens has 9 entries but weights\.shape=\(2, 10, 10\) has T_q=10"),
    (TOKENS[:3], uniform(2, 3, 5), {}, ValueError,
     (r"weights\.shape=\(2, 3, 5\) has T_k=5 key columns but tokens has 3 entries; "
      r"for cross-attention .* key_tokens=")),
    (TOKENS[:3], uniform(2, 3, 5), {"key_tokens": TOKENS[:4]}, ValueError,
     r"key_tokens has 4 entries but weights\.shape=\(2, 3, 5\) has T_k=5"),
    (TOKENS, WEIGHTS, {"head_names": ["a", "b", "c"]}, ValueError,
     r"head_names has 3 entries but weights\.shape=\(2, 10, 10\) has num_heads=2"),
    (["a"], np.zeros((2, 0, 0)), {}, ValueError,
     r"at least one head, one query and one key .* weights\.shape=\(2, 0, 0\)"),
    # values
    (["a", "b"], np.array([[[1.2, -0.2], [0.5, 0.5]]]), {}, ValueError,
     (r"weights must be non-negative"
      r".* found -0\.2 at index \(0, 0, 1\); weights\.shape=\(1, 2, 2\)")),
    (["a", "b"], np.array([[[0.5, 0.5], [0.7, 0.7]]]), {}, ValueError,
     r"must sum to 1, or be all 0 .*weights\[0, 1, :\] sums to 1\.4; weights\.shape=\(1, 2, 2\)"),
    (["a", "b"], np.array([[[0.5, 0.5], [0.2, 0.1]]]), {}, ValueError,
     r"weights\[0, 1, :\] sums to 0\.3; weights\.shape=\(1, 2, 2\)"),
    (["a", "b"], np.array([[[np.nan, 0.5], [0.5, 0.5]]]), {}, ValueError,
     (r"weights contains NaN or inf \(first at index \(0, 0, 0\): nan\); "
      r"weights\.shape=\(1, 2, 2\)")),
    (["a", "b"], np.array([[[np.inf, 0.5], [0.5, 0.5]]]), {}, ValueError,
     r"weights contains NaN or inf .*weights\.shape=\(1, 2, 2\)"),
    (["a", " "], uniform(1, 2, 2), {}, ValueError,
     r"tokens\[1\] is ' ': every entry of tokens must show some text \(len\(tokens\)=2\)"),
    # types
    ("the fox", uniform(1, 7, 7), {}, TypeError,
     r"tokens must be a list of strings .* got str"),
    (["a", 2], uniform(1, 2, 2), {}, TypeError,
     r"tokens\[1\] must be a str, got int .*length 2"),
    (["a"], [[["x"]]], {}, TypeError,
     r"weights must hold real numbers, got dtype <U1 with weights\.shape=\(1, 1, 1\)"),
    (["a"], np.ones((1, 1, 1), dtype=bool), {}, TypeError,
     r"weights must hold real numbers, got dtype bool"),
    (["a", "b"], [[[1.0, 0.0], [1.0]]], {}, TypeError,
     r"weights must be an array \(num_heads, T_q, T_k\) of real numbers"),
    (["a"], uniform(1, 1, 1), {"caption": 3}, TypeError,
     r"caption must be a str or None, got int"),
    (["a"], uniform(1, 1, 1), {"head_names": "h"}, TypeError,
     r"head_names must be a list of strings"),
    (["a"], uniform(1, 1, 1), {"key_tokens": [None]}, TypeError,
     r"key_tokens\[0\] must be a str, got NoneType"),
]


@pytest.mark.parametrize(("tokens", "weights", "kwargs", "error", "pattern"), BAD_INPUT)
def test_bad_input_gets_an_error_naming_the_argument_and_shapes(
    tokens, weights, kwargs, error, pattern
):
    for show in (render_explorer_html, show_heads):
        with pytest.raises(error, match=pattern):
            show(tokens, weights, explorer_id="bad", **kwargs)
    with pytest.raises(ValueError, match=pattern):  # a TypeError here is a ValueError too
        render_explorer_html(tokens, weights, explorer_id="bad", **kwargs)


def test_scores_instead_of_weights_get_a_hint():
    scores = np.random.default_rng(0).normal(size=(2, 10, 10))
    with pytest.raises(ValueError, match="Did you pass the scores instead of the weights"):
        render_explorer_html(TOKENS, scores, explorer_id="bad")


def test_rows_rounded_for_display_are_accepted():
    rounded = np.round(WEIGHTS, 3)  # as printed with precision=3: rows sum to 1 +- 0.005
    assert 0 < np.abs(rounded.sum(-1) - 1).max() <= 0.005
    render_explorer_html(TOKENS, rounded, explorer_id="rounded")


# --- numpy, torch, cross-attention ---------------------------------------------------------------


def test_accepts_torch_tensors(running_html):
    tensor = torch.tensor(WEIGHTS, requires_grad=True)
    assert render_explorer_html(TOKENS, tensor, explorer_id="heads-running") == running_html
    module = mha_lib.MultiHeadAttention(8, 2)
    x = torch.tensor(EXAMPLE.x, dtype=torch.float32)[None]
    _, weights = module(x, x, x, need_weights=True)  # (1, num_heads, T, T)
    with pytest.raises(ValueError, match=r"weights\.shape=\(1, 2, 10, 10\)"):
        render_explorer_html(TOKENS, weights, explorer_id="torch")
    markup = render_explorer_html(TOKENS, weights[0], explorer_id="torch")
    expected = weights[0].detach().double().numpy()
    assert tables(parse(markup))[1][4][1:] == [f"{w:.2f}" for w in expected[1, 3]]
    half = render_explorer_html(TOKENS, weights[0].to(torch.bfloat16), explorer_id="half")
    assert "mha-explorer-table" in half
    with pytest.raises(
        TypeError,
        match=r"weights must hold real numbers, got a tensor of "
        r"dtype torch\.bool and shape \(1, 1, 1\)",
    ):
        render_explorer_html(["a"], torch.ones(1, 1, 1, dtype=torch.bool), explorer_id="b")


def test_accepts_float32_and_lists():
    f32 = WEIGHTS.astype(np.float32)
    root = parse(render_explorer_html(TOKENS, f32, explorer_id="f32"))
    assert tables(root)[0][1][1:] == [f"{float(w):.2f}" for w in f32[0, 0]]
    as_list = render_explorer_html(TOKENS, WEIGHTS.tolist(), explorer_id="heads-running")
    assert as_list == render_explorer_html(TOKENS, WEIGHTS, explorer_id="heads-running")


def test_cross_attention_shapes():
    queries, keys = ["Le", "chat", "dort"], ["The", "cat", "is", "asleep", "."]
    weights = np.random.default_rng(1).dirichlet(np.ones(5), size=(4, 3))  # (4, 3, 5)
    markup = render_explorer_html(queries, weights, explorer_id="cross", key_tokens=keys)
    root = parse(markup)
    found = tables(root)
    assert len(found) == 4
    for h, table in enumerate(found):
        assert table[0] == [CORNER, *keys]
        assert [row[0] for row in table[1:]] == queries
        assert [len(row) for row in table[1:]] == [6, 6, 6]
        assert table[2][1:] == [f"{w:.2f}" for w in weights[h, 1]]
    block = data_block(root)
    assert block["tokens"] == queries and block["key_tokens"] == keys
    assert np.asarray(block["weights"]).shape == (4, 3, 5)
    assert root.find("p").text == (
        "Attention weights of 4 heads; queries: Le chat dort; keys: The cat is asleep ."
    )
    explorer = show_heads(queries, weights, explorer_id="cross", key_tokens=keys)
    assert repr(explorer) == (
        "Head explorer cross: 4 heads \u00d7 3 query tokens \u00d7 5 key tokens. "
        "Open in Jupyter or on the course website to explore."
    )
    explorer.close()


def test_prepare_explorer_rounds_to_three_decimals():
    prepared = prepare_explorer(TOKENS, WEIGHTS, explorer_id="p")
    assert prepared.num_heads == 2 and prepared.keys == tuple(TOKENS)
    assert prepared.weights[0][3][2] == round(float(WEIGHTS[0, 3, 2]), 3) == 0.466
    assert prepared.display[0][3][2] == "0.47"


# --- the widget -----------------------------------------------------------------------------------


def test_widget_mimebundle(running_html):
    explorer = show_heads(TOKENS, WEIGHTS, explorer_id="heads-running")
    assert isinstance(explorer, HeadExplorer)
    data_, metadata = explorer._repr_mimebundle_()
    assert isinstance(metadata, dict)
    assert set(data_) == {WIDGET_MIME, "text/html", "text/plain"}
    assert data_[WIDGET_MIME]["model_id"] == explorer.model_id
    assert data_[WIDGET_MIME]["version_major"] == 2
    assert data_["text/html"] == running_html == explorer.html
    expected = (
        "Head explorer heads-running: 2 heads \u00d7 10 tokens. "
        "Open in Jupyter or on the course website to explore."
    )
    assert data_["text/plain"] == expected and repr(explorer) == expected
    other = show_heads(TOKENS, torch.tensor(WEIGHTS), explorer_id="heads-running")
    assert other._repr_mimebundle_()[0]["text/plain"] == expected
    assert other._repr_mimebundle_()[0]["text/html"] == running_html
    one = show_heads(["a"], [[[1.0]]], explorer_id="one")
    assert repr(one) == (
        "Head explorer one: 1 head \u00d7 1 token. "
        "Open in Jupyter or on the course website to explore."
    )
    for w in (explorer, other, one):
        w.close()


def test_widget_traits_and_assets():
    explorer = HeadExplorer(TOKENS, WEIGHTS, explorer_id="heads-running")
    assert explorer.explorer_id == "heads-running"
    for name in ("html", "explorer_id"):
        assert explorer.trait_metadata(name, "sync") is True
    assert Path(HeadExplorer._esm._path) == PACKAGE / "static" / "mha_explorer.js"
    assert Path(HeadExplorer._css._path) == PACKAGE / "static" / "mha_explorer.css"
    assert widget_module.STATIC_DIR == STATIC_DIR == PACKAGE / "static"
    assert explorer._esm == (STATIC_DIR / "mha_explorer.js").read_text(encoding="utf-8")
    explorer.close()


def test_static_assets_are_small_and_self_contained():
    js = (STATIC_DIR / "mha_explorer.js").read_text(encoding="utf-8")
    css = (STATIC_DIR / "mha_explorer.css").read_text(encoding="utf-8")
    assert len(js.encode()) + len(css.encode()) < 20_000
    assert "export default" in js and "render(" in js and "export function hydrate" in js
    for forbidden in (
        "console.",
        "fetch(",
        "XMLHttpRequest",
        "import(",
        "import ",
        "window.",
        "globalThis",
        "eval(",
        "new Function",
        "localStorage",
        "innerHTML +=",
        "http://",
        "https://",
    ):
        assert forbidden not in js, forbidden
    # Data reaches the page only as text: the one innerHTML is the widget's own markup.
    assert js.count("innerHTML") == 1 and 'el.innerHTML = model.get("html")' in js
    for forbidden in ("@import", "url(", "http://", "https://"):
        assert forbidden not in css, forbidden
    assert "--pst-color-primary" in css and "--jp-brand-color1" in css


def test_docstrings_name_the_lesson_and_shapes():
    for obj in (render_explorer_html, show_heads, HeadExplorer, prepare_explorer):
        doc = obj.__doc__ or ""
        assert "Introduced in notebooks/07_multiple_heads.ipynb" in doc, obj
    for obj in (render_explorer_html, show_heads, HeadExplorer):
        assert "(num_heads, T_q, T_k)" in obj.__doc__, obj
