"""The sync pauses the cycle collector while a page lives (mirror/sync/collector_pause.py); `mirror/fhir/` never does."""

import gc
from types import SimpleNamespace

import pytest
from requests.structures import CaseInsensitiveDict

from mirror.sync import engine
from mirror.sync.collector_pause import collector_paused
from mirror.sync.http import Answer


def test_the_collector_is_paused_only_inside_the_block():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("a page that does not parse")
    assert gc.isenabled()


def test_a_caller_that_paused_the_collector_keeps_it_paused():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_engine_parses_each_page_with_the_collector_paused(monkeypatch):
    """A page fetched ahead is read on its own thread, outside the pause the engine holds around a page."""
    enabled_while_read = []
    monkeypatch.setattr(engine, "read_searchset", lambda answer: enabled_while_read.append(gc.isenabled()))
    answer = Answer("https://plan.example/fhir/Coverage", 200, CaseInsensitiveDict(), b"{}")
    engine._PlanSync._read_page(SimpleNamespace(), answer)
    assert enabled_while_read == [False] and gc.isenabled()
