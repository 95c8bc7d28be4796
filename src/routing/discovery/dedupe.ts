import type { EndpointConfig } from "../../config/schema.js";

/** Calls `onChange` only when the list differs from the last one reported. */
export function dedupeChanges(
  onChange: (endpoints: EndpointConfig[]) => void,
): (endpoints: EndpointConfig[]) => void {
  let last: string | undefined;
  return (endpoints) => {
    const text = JSON.stringify(endpoints);
    if (text === last) return;
    last = text;
    onChange(endpoints);
  };
}
