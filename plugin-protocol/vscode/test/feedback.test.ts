// The feedback reporter turns VS Code's inline-suggestion events into Splice's notifications, once each.
import assert from "node:assert/strict";
import { test } from "node:test";
import { END_ACCEPTED, END_IGNORED, END_REJECTED, FeedbackReporter } from "../src/feedback";
import { registerWithFeedback } from "../src/registration";

function reporter(): { feedback: FeedbackReporter; sent: Array<[string, object]> } {
  const sent: Array<[string, object]> = [];
  return { feedback: new FeedbackReporter((method, params) => sent.push([method, params]), () => 1234), sent };
}

test("a shown suggestion is reported once, with the time it appeared", () => {
  const { feedback, sent } = reporter();
  feedback.shown("a");
  feedback.shown("a");
  assert.deepEqual(sent, [["splice/didShowCompletion", { completionId: "a", displayedAt: 1234 }]]);
});

test("a whole accept has no acceptedLength and ends the suggestion", () => {
  const { feedback, sent } = reporter();
  feedback.accepted("a");
  feedback.accepted("a");
  feedback.rejected("a", "dismissed");
  assert.deepEqual(sent, [["splice/didAcceptCompletion", { completionId: "a" }]]);
});

test("partial accepts are sent as they grow, whichever form VS Code passes", () => {
  const { feedback, sent } = reporter();
  feedback.partiallyAccepted("a", 4); // VS Code passes the length as a number ...
  feedback.partiallyAccepted("a", { acceptedLength: 4 }); // ... and again as an info object
  feedback.partiallyAccepted("a", { acceptedLength: 9 });
  feedback.partiallyAccepted("a", 2);
  feedback.accepted("a");
  assert.deepEqual(sent, [
    ["splice/didAcceptCompletion", { completionId: "a", acceptedLength: 4 }],
    ["splice/didAcceptCompletion", { completionId: "a", acceptedLength: 9 }],
    ["splice/didAcceptCompletion", { completionId: "a" }],
  ]);
});

test("nonsense partial lengths are not sent", () => {
  const { feedback, sent } = reporter();
  feedback.partiallyAccepted("a", 0);
  feedback.partiallyAccepted("a", -3);
  feedback.partiallyAccepted("a", 1.5);
  assert.deepEqual(sent, []);
});

test("the end of a suggestion's life maps to a rejection reason", () => {
  const { feedback, sent } = reporter();
  for (const id of ["typed", "replaced", "ignored", "dismissed", "accepted"]) feedback.shown(id);
  sent.length = 0;
  feedback.ended("typed", { kind: END_IGNORED, userTypingDisagreed: true });
  feedback.ended("replaced", { kind: END_IGNORED, userTypingDisagreed: false, supersededBy: {} });
  feedback.ended("ignored", { kind: END_IGNORED, userTypingDisagreed: false });
  feedback.ended("dismissed", { kind: END_REJECTED });
  feedback.ended("accepted", { kind: END_ACCEPTED });
  assert.deepEqual(sent, [
    ["splice/didRejectCompletion", { completionId: "typed", reason: "typedPast" }],
    ["splice/didRejectCompletion", { completionId: "replaced", reason: "replaced" }],
    ["splice/didRejectCompletion", { completionId: "ignored", reason: "dismissed" }],
    ["splice/didRejectCompletion", { completionId: "dismissed", reason: "dismissed" }],
  ]);
});

test("a suggestion that was never shown is not reported as ignored", () => {
  const { feedback, sent } = reporter();
  feedback.ended("a", { kind: END_IGNORED, userTypingDisagreed: false });
  assert.deepEqual(sent, []);
});

test("after a partial accept a later dismissal is not a rejection", () => {
  const { feedback, sent } = reporter();
  feedback.partiallyAccepted("a", 3);
  feedback.ended("a", { kind: END_REJECTED });
  assert.equal(sent.length, 1);
});

test("old suggestions are forgotten so memory stays bounded", () => {
  const { feedback, sent } = reporter();
  for (let i = 0; i < 2500; i++) feedback.shown(`id-${i}`);
  sent.length = 0;
  feedback.shown("id-0"); // forgotten, so reported again
  feedback.shown("id-2499"); // remembered
  assert.equal(sent.length, 1);
});

test("the provider keeps its handlers where the proposed API is allowed", () => {
  const seen: object[] = [];
  const result = registerWithFeedback((provider: object) => seen.push(provider), { provide: 1 }, { handleDidShowCompletionItem: 2 });
  assert.equal(result.api, "proposed");
  assert.deepEqual(seen, [{ provide: 1, handleDidShowCompletionItem: 2 }]);
});

test("where VS Code refuses the proposed API, the provider is registered without its handlers", () => {
  const seen: object[] = [];
  // VS Code's registerInlineCompletionItemProvider throws for a provider with proposed handlers then.
  const register = (provider: object): number => {
    if ("handleDidShowCompletionItem" in provider) throw new Error("Extension 'splice.splice' CANNOT use API proposal: inlineCompletionsAdditions");
    return seen.push(provider);
  };
  const result = registerWithFeedback(register, { provide: 1 }, { handleDidShowCompletionItem: 2 });
  assert.equal(result.api, "stable");
  assert.deepEqual(seen, [{ provide: 1 }]);
});
