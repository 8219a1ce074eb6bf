/**
 * What the person did with an inline suggestion, as Splice's notifications: shown, accepted (wholly or in
 * part, with `acceptedLength`) and rejected. VS Code reports some events twice (a partial accept arrives
 * as a number and as an info object) and may report a rejection after an accept; each suggestion's
 * outcome is therefore sent once, and a partial accept only when it grows.
 */

import { SpliceMethods } from "./protocol";

export type Send = (method: string, params: object) => void;

// VS Code's InlineCompletionEndOfLifeReasonKind and PartialAcceptTriggerKind, as numbers: the enums
// exist at run time only when the proposed API is enabled.
export const END_ACCEPTED = 0;
export const END_REJECTED = 1;
export const END_IGNORED = 2;

export interface EndOfLifeReason {
  kind: number;
  supersededBy?: unknown;
  userTypingDisagreed?: boolean;
}

const REMEMBERED = 2000;

interface Outcome {
  shown: boolean;
  accepted: number | "all" | undefined;
  rejected: boolean;
}

export class FeedbackReporter {
  private readonly outcomes = new Map<string, Outcome>();

  constructor(
    private readonly send: Send,
    private readonly now: () => number = Date.now,
  ) {}

  /** The suggestion became visible. */
  shown(completionId: string): void {
    const outcome = this.outcome(completionId);
    if (!outcome.shown) {
      outcome.shown = true;
      this.send(SpliceMethods.didShowCompletion, { completionId, displayedAt: this.now() });
    }
  }

  /** The person accepted the whole suggestion (its command ran). */
  accepted(completionId: string): void {
    const outcome = this.outcome(completionId);
    if (outcome.accepted !== "all" && !outcome.rejected) {
      outcome.accepted = "all";
      this.send(SpliceMethods.didAcceptCompletion, { completionId });
    }
  }

  /** The person accepted the first `info` characters (a word or line accept). */
  partiallyAccepted(completionId: string, info: number | { acceptedLength: number }): void {
    const acceptedLength = typeof info === "number" ? info : info.acceptedLength;
    const outcome = this.outcome(completionId);
    if (!Number.isInteger(acceptedLength) || acceptedLength <= 0 || outcome.accepted === "all" || outcome.rejected) {
      return;
    }
    if (outcome.accepted === undefined || acceptedLength > outcome.accepted) {
      outcome.accepted = acceptedLength;
      this.send(SpliceMethods.didAcceptCompletion, { completionId, acceptedLength });
    }
  }

  /** The suggestion is gone: dismissed, typed past, replaced by another, or accepted. */
  ended(completionId: string, reason: EndOfLifeReason): void {
    if (reason.kind === END_ACCEPTED) {
      return; // the item's command reports the accept, with the text that was inserted
    }
    if (reason.kind === END_REJECTED) {
      this.rejected(completionId, "dismissed");
    } else if (reason.kind === END_IGNORED && this.outcome(completionId).shown) {
      const why = reason.userTypingDisagreed ? "typedPast" : reason.supersededBy !== undefined ? "replaced" : "dismissed";
      this.rejected(completionId, why);
    }
  }

  /** The person dismissed the suggestion, typed past it, or another one replaced it. */
  rejected(completionId: string, reason: "dismissed" | "typedPast" | "replaced"): void {
    const outcome = this.outcome(completionId);
    if (outcome.accepted === undefined && !outcome.rejected) {
      outcome.rejected = true;
      this.send(SpliceMethods.didRejectCompletion, { completionId, reason });
    }
  }

  private outcome(completionId: string): Outcome {
    let outcome = this.outcomes.get(completionId);
    if (outcome === undefined) {
      outcome = { shown: false, accepted: undefined, rejected: false };
      this.outcomes.set(completionId, outcome);
      if (this.outcomes.size > REMEMBERED) {
        // Maps iterate in insertion order: the oldest suggestion is forgotten first.
        const oldest = this.outcomes.keys().next().value;
        if (oldest !== undefined) {
          this.outcomes.delete(oldest);
        }
      }
    }
    return outcome;
  }
}
