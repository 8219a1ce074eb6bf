/**
 * Splice's inline completion result as plain item descriptions, keeping each item's `data.completionId`
 * (LSP's InlineCompletionItem has no `data` field, so the client library's converter drops it).
 */

import type * as proto from "vscode-languageclient";

export interface InlineItem {
  insertText: string;
  range: proto.Range | undefined;
  filterText: string | undefined;
  completionId: string | undefined;
}

/** The items of a `textDocument/inlineCompletion` result, whichever of its shapes the server sent. */
export function inlineItems(result: proto.InlineCompletionList | proto.InlineCompletionItem[] | null | undefined): InlineItem[] {
  if (result === null || result === undefined) {
    return [];
  }
  const items = Array.isArray(result) ? result : result.items;
  return items.map((item) => {
    const data: unknown = (item as { data?: unknown }).data;
    const id = data !== null && typeof data === "object" ? (data as { completionId?: unknown }).completionId : undefined;
    return {
      insertText: typeof item.insertText === "string" ? item.insertText : item.insertText.value,
      range: item.range,
      filterText: item.filterText,
      completionId: typeof id === "string" ? id : undefined,
    };
  });
}
