// Types of Splice's own protocol methods, generated from splice-protocol.schema.json.
// Do not edit: run scripts/gen-protocol.

export interface DidShowCompletionParams {
  completionId: string;
  displayedAt?: number;
}

export interface DidAcceptCompletionParams {
  completionId: string;
  acceptedLength?: number;
}

export interface DidRejectCompletionParams {
  completionId: string;
  reason?: "dismissed" | "typedPast" | "replaced";
}

export interface StatusParams {
  state: "ready" | "degraded" | "offline";
  engine?: string;
  message?: string;
}

export const SpliceMethods = {
  didShowCompletion: "splice/didShowCompletion",  // clientToServer notification
  didAcceptCompletion: "splice/didAcceptCompletion",  // clientToServer notification
  didRejectCompletion: "splice/didRejectCompletion",  // clientToServer notification
  status: "splice/status",  // serverToClient notification
} as const;
