/**
 * Inline suggestions in VS Code, from the server's `textDocument/inlineCompletion`, with the feedback
 * Splice needs. Accepting a whole item runs its `command` (stable API), which sends
 * `splice/didAcceptCompletion`. Shown, partial accepts and rejections exist only in the proposed API
 * `inlineCompletionsAdditions`: the provider offers those handlers when VS Code lets the extension use
 * it, and registers without them otherwise (VS Code refuses a provider that has them then).
 */

import * as vscode from "vscode";
import {
  InlineCompletionRequest,
  type BaseLanguageClient,
  type ClientCapabilities,
  type DocumentSelector,
  type FeatureState,
  type ServerCapabilities,
  type StaticFeature,
} from "vscode-languageclient";
import { END_ACCEPTED, type EndOfLifeReason, FeedbackReporter } from "./feedback";
import { inlineItems } from "./inlineItems";
import { registerWithFeedback, type FeedbackApi } from "./registration";

/** Runs when VS Code inserts a whole inline item; the extension registers it to report the accept. */
export const INLINE_ACCEPTED_COMMAND = "splice.inlineSuggestionAccepted";


export class InlineCompletionFeature implements StaticFeature {
  private registration: vscode.Disposable | undefined;
  private readonly ids = new WeakMap<vscode.InlineCompletionItem, string>();

  constructor(
    private readonly client: BaseLanguageClient,
    private readonly feedback: FeedbackReporter,
    private readonly enabledFor: (document: vscode.TextDocument) => boolean,
    private readonly selector: vscode.DocumentSelector,
    private readonly registered: (api: FeedbackApi) => void,
  ) {}

  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.textDocument = capabilities.textDocument ?? {};
    capabilities.textDocument.inlineCompletion = { dynamicRegistration: false };
  }

  initialize(capabilities: ServerCapabilities, _documentSelector: DocumentSelector | undefined): void {
    if (!capabilities.inlineCompletionProvider || this.registration !== undefined) {
      return;
    }
    const { registration, api } = registerWithFeedback(
      (provider: vscode.InlineCompletionItemProvider) => vscode.languages.registerInlineCompletionItemProvider(this.selector, provider),
      { provideInlineCompletionItems: this.provide.bind(this) },
      this.handlers(),
    );
    this.registration = registration;
    this.registered(api);
  }

  getState(): FeatureState {
    return { kind: "static" };
  }

  clear(): void {
    this.registration?.dispose();
    this.registration = undefined;
  }

  private async provide(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    if (!this.enabledFor(document) || !this.client.isRunning()) {
      return undefined; // while the server restarts there is nobody to ask
    }
    const params = this.client.code2ProtocolConverter.asInlineCompletionParams(document, position, context);
    let result;
    try {
      result = await this.client.sendRequest(InlineCompletionRequest.type, params, token);
    } catch (error) {
      // Logged, not shown: a suggestion that did not come is no reason to interrupt the person.
      return this.client.handleFailedRequest(InlineCompletionRequest.type, token, error, undefined, false);
    }
    if (token.isCancellationRequested) {
      return undefined;
    }
    return inlineItems(result).map((item) => {
      const range = item.range ? this.client.protocol2CodeConverter.asRange(item.range) : undefined;
      const command = item.completionId
        ? { title: "Splice: suggestion accepted", command: INLINE_ACCEPTED_COMMAND, arguments: [item.completionId] }
        : undefined;
      const converted = new vscode.InlineCompletionItem(item.insertText, range, command);
      if (item.filterText !== undefined) {
        converted.filterText = item.filterText;
      }
      if (item.completionId) {
        this.ids.set(converted, item.completionId);
      }
      return converted;
    });
  }

  /** The proposed API's event handlers, reporting through the feedback reporter. */
  private handlers(): object {
    const id = (item: vscode.InlineCompletionItem): string | undefined => this.ids.get(item);
    return {
      handleDidShowCompletionItem: (item: vscode.InlineCompletionItem): void => {
        const completionId = id(item);
        if (completionId) this.feedback.shown(completionId);
      },
      handleDidPartiallyAcceptCompletionItem: (item: vscode.InlineCompletionItem, info: number | { acceptedLength: number }): void => {
        const completionId = id(item);
        if (completionId) this.feedback.partiallyAccepted(completionId, info);
      },
      handleEndOfLifetime: (item: vscode.InlineCompletionItem, reason: EndOfLifeReason): void => {
        const completionId = id(item);
        if (completionId && reason.kind !== END_ACCEPTED) this.feedback.ended(completionId, reason);
      },
    };
  }
}
