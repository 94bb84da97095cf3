"""The registry: lookup by (name, kind), declarations, and error messages built from the registry."""

from __future__ import annotations

import numpy as np
import pytest

from modelwatch.drift.methods import (
    METHODS,
    BinnedInput,
    DriftScore,
    MethodSpec,
    get_method,
    method_names,
    registry,
)

EXPECTED = {
    # name: (kinds, warn, alert, needs_edges)
    "psi": (("numeric", "categorical"), 0.1, 0.25, False),
    "jensen_shannon": (("numeric", "categorical"), 0.1, 0.2, False),
    "kl": (("numeric", "categorical"), 0.1, 0.25, False),
    "chi_square": (("numeric", "categorical"), 0.1, 0.2, False),
    "ks": (("numeric",), 0.1, 0.2, True),
    "wasserstein": (("numeric",), 0.1, 0.2, True),
}


def test_registered_keys_are_exactly_the_declared_methods() -> None:
    expected_keys = {(name, kind) for name, (kinds, *_) in EXPECTED.items() for kind in kinds}
    assert set(METHODS) == expected_keys


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_method_is_found_with_its_declaration(name: str) -> None:
    kinds, warn, alert, needs_edges = EXPECTED[name]
    for kind in kinds:
        spec = get_method(name, kind)
        assert isinstance(spec, MethodSpec)
        assert (spec.name, spec.kinds, spec.default_warn, spec.default_alert, spec.needs_edges) == (
            name, kinds, warn, alert, needs_edges,
        )
        assert spec.description
        assert callable(spec.func)


def test_method_names_by_kind() -> None:
    assert method_names() == sorted(EXPECTED)
    assert method_names("numeric") == sorted(EXPECTED)
    assert method_names("categorical") == ["chi_square", "jensen_shannon", "kl", "psi"]
    with pytest.raises(ValueError, match="unknown feature kind 'text'"):
        method_names("text")


def test_unknown_name_lists_every_registered_name() -> None:
    with pytest.raises(KeyError) as info:
        get_method("hellinger", "numeric")
    message = str(info.value)
    assert "hellinger" in message
    assert str(sorted({name for name, _ in METHODS})) in message


def test_numeric_only_method_for_categorical_names_the_supported_kinds() -> None:
    with pytest.raises(KeyError) as info:
        get_method("ks", "categorical")
    message = str(info.value)
    assert "supports ['numeric'] features, not 'categorical'" in message
    assert "['chi_square', 'jensen_shannon', 'kl', 'psi']" in message


def test_unknown_kind_is_named() -> None:
    with pytest.raises(KeyError, match="unknown feature kind 'ordinal'"):
        get_method("psi", "ordinal")


def test_register_rejects_bad_declarations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "METHODS", dict(registry.METHODS))

    def method(data: BinnedInput) -> DriftScore:
        """A stand-in."""
        return DriftScore(0.0)

    with pytest.raises(ValueError, match="kinds must be a non-empty subset"):
        registry.register("x", kinds=("text",), warn=0.1, alert=0.2)(method)
    with pytest.raises(ValueError, match="warn"):
        registry.register("x", kinds=("numeric",), warn=0.3, alert=0.2)(method)
    with pytest.raises(ValueError, match="cannot take categorical"):
        registry.register("x", kinds=("categorical",), warn=0.1, alert=0.2, needs_edges=True)(method)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("psi", kinds=("numeric",), warn=0.1, alert=0.2)(method)

    registry.register("stand_in", kinds=("categorical",), warn=0.1, alert=0.2)(method)
    assert registry.get_method("stand_in", "categorical").description == "A stand-in."
    assert "stand_in" in registry.method_names("categorical")
    assert "stand_in" in str(pytest.raises(KeyError, registry.get_method, "nope", "numeric").value)


def test_cdf_methods_refuse_input_without_a_grid() -> None:
    counts = BinnedInput(np.array([1, 2]), np.array([2, 1]))
    with pytest.raises(ValueError, match="ks needs the inner bin edges"):
        get_method("ks", "numeric").func(counts)
    with pytest.raises(ValueError, match="wasserstein needs bounds"):
        get_method("wasserstein", "numeric").func(BinnedInput([1, 2], [2, 1], edges=[0.0]))


def test_registry_import_does_not_pull_in_scipy() -> None:
    """Config validation may list method names at DAG parse time; that must stay light."""
    import subprocess
    import sys

    code = "import sys, modelwatch.drift.methods as m; m.method_names(); assert 'scipy' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
