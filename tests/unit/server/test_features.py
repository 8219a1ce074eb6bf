"""The feature set is the one source of the dispatch table, the concurrent requests and the capabilities."""

from __future__ import annotations

from splice import __version__
from splice.server.features import FEATURES, Feature, Features


def test_capabilities_are_derived_from_the_features() -> None:
    assert FEATURES.capabilities("utf-16") == {
        "positionEncoding": "utf-16",
        "textDocumentSync": {"openClose": True, "change": 2, "save": {"includeText": False}},
        "inlineCompletionProvider": {"workDoneProgress": False},
        "completionProvider": {"resolveProvider": False, "triggerCharacters": [".", "("]},
        "executeCommandProvider": {"commands": ["splice.acceptCompletion"]},
        "workspace": {"workspaceFolders": {"supported": True, "changeNotifications": False}},
        "experimental": {"splice": {"version": __version__, "notifications": [
            "splice/didAcceptCompletion", "splice/didRejectCompletion", "splice/didShowCompletion", "splice/status",
        ]}},
    }


def test_only_completions_run_as_cancellable_tasks() -> None:
    assert FEATURES.concurrent == {"textDocument/inlineCompletion", "textDocument/completion"}
    assert set(FEATURES.methods) == {f.method for f in FEATURES.all}


def test_fragments_of_one_capability_merge_without_sharing_state() -> None:
    async def handler() -> None:
        return None

    fragment = {"textDocumentSync": {"openClose": True}}
    features = Features((Feature(method="a", handler=handler, capability=fragment),
                         Feature(method="b", handler=handler, capability={"textDocumentSync": {"change": 2}})))
    assert features.capabilities("utf-8")["textDocumentSync"] == {"openClose": True, "change": 2}
    assert fragment == {"textDocumentSync": {"openClose": True}}  # the declaration is not mutated
