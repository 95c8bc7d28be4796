/** Counts completed SSE events that carry generated text (`choices[0].delta.content` non-empty). */
export class SseCounter {
  private pending = "";
  sawDone = false;
  errorEvent: string | undefined;

  /** Feeds decoded body text; returns how many content events it completed. */
  push(text: string): number {
    this.pending += text.includes("\r") ? text.replace(/\r\n/g, "\n") : text;
    let count = 0;
    let end = this.pending.indexOf("\n\n");
    while (end !== -1) {
      if (this.isContent(this.pending.slice(0, end))) count++;
      this.pending = this.pending.slice(end + 2);
      end = this.pending.indexOf("\n\n");
    }
    return count;
  }

  private isContent(event: string): boolean {
    const data = event
      .split("\n")
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trimStart())
      .join("\n");
    if (data === "") return false;
    if (data === "[DONE]") {
      this.sawDone = true;
      return false;
    }
    return hasContent(data, this);
  }
}

function hasContent(data: string, counter: SseCounter): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return false;
  }
  if (typeof parsed !== "object" || parsed === null) return false;
  const rec = parsed as { error?: unknown; choices?: Array<{ delta?: { content?: unknown } }> };
  if (rec.error !== undefined) counter.errorEvent = data;
  const content = rec.choices?.[0]?.delta?.content;
  return typeof content === "string" && content.length > 0;
}
