/**
 * Splice's own protocol methods, re-exported from the types generated from plugin-protocol's schema, so
 * the extension and the server cannot disagree on a method name or a field.
 */

export type {
  DidAcceptCompletionParams,
  DidRejectCompletionParams,
  DidShowCompletionParams,
  StatusParams,
} from "../../splice-protocol";

export const SpliceMethods = {
  didShowCompletion: "splice/didShowCompletion",
  didAcceptCompletion: "splice/didAcceptCompletion",
  didRejectCompletion: "splice/didRejectCompletion",
  status: "splice/status",
} as const;

/** The command the server's items carry; running it reports the accept of the whole item. */
export const ACCEPT_COMMAND = "splice.acceptCompletion";
