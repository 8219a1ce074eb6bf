"""The collector settings: URLs and tokens are checked where they come in, and a URL without a token says so."""

from __future__ import annotations

from splice.config import Settings, from_environment, merge


def test_collector_settings_from_the_environment() -> None:
    settings, problems = from_environment({"SPLICE_COLLECTOR_URL": "https://collector.internal:8470",
                                           "SPLICE_COLLECTOR_TOKEN": "A" * 43, "SPLICE_COLLECTOR_USER": "ana",
                                           "SPLICE_COLLECTOR_DATABASE": "host=db", "SPLICE_ADMIN_TOKEN": "x"})
    assert problems == []
    assert (settings.collector_url, settings.collector_user) == ("https://collector.internal:8470", "ana")


def test_bad_collector_values_are_refused_and_the_previous_kept() -> None:
    for key, value in (("collectorUrl", "ftp://host/x"), ("collectorUrl", "http://user:pw@host"),
                       ("collectorUrl", "http://host:99999"), ("collectorUrl", "host:8470"),
                       ("collectorToken", "short"), ("collectorToken", "has spaces in it, sixteen+"),
                       ("collectorQueueEvents", 10), ("collectorUser", "a\nb")):
        settings, problems = merge(Settings(), {key: value}, source="client")
        assert settings == Settings(), (key, value)
        assert len(problems) == 1 and key in problems[0], problems


def test_a_url_without_a_token_exports_nothing_and_says_so() -> None:
    _, problems = merge(Settings(), {"collectorUrl": "http://127.0.0.1:8470"}, source="client")
    assert problems == ["client: collectorUrl needs collectorToken; nothing is exported until it is set"]
