/**
 * Registering the inline provider with or without the proposed API's event handlers. VS Code throws when
 * a provider has those handlers and the extension may not use the proposal, so the provider is offered
 * with them first and registered without them when that is refused: suggestions and whole accepts work
 * either way, only the events that exist solely in the proposal are lost.
 */

export type FeedbackApi = "proposed" | "stable";

/** The registration and which API reports feedback through it. */
export function registerWithFeedback<P extends object, D>(
  register: (provider: P) => D,
  provider: P,
  handlers: object,
): { registration: D; api: FeedbackApi } {
  try {
    return { registration: register({ ...provider, ...handlers }), api: "proposed" };
  } catch {
    return { registration: register(provider), api: "stable" };
  }
}
