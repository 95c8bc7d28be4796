import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";

/**
 * Calls `onChange(text)` when a file's content changes: on `fs.watch` events of its folder (so an
 * editor's rename-over and a Kubernetes ConfigMap's symlink swap are seen), and by polling every
 * `intervalMs` where file system events are not delivered. The first read is reported too.
 * Returns the function that stops watching.
 */
export function watchFileText(
  file: string,
  intervalMs: number,
  onChange: (text: string) => void,
  onError: (err: Error) => void,
): { first: Promise<void>; stop: () => void } {
  let last: string | undefined;
  let stopped = false;
  let debounce: NodeJS.Timeout | undefined;
  let reading: Promise<void> | undefined;
  const check = (): Promise<void> => {
    reading ??= readFile(file, "utf8")
      .then(
        (text) => {
          if (!stopped && text !== last) {
            last = text;
            onChange(text);
          }
        },
        (err: Error) => {
          if (!stopped) onError(err);
        },
      )
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
      if (name !== null && name !== basename(file) && !name.startsWith("..")) return;
      clearTimeout(debounce);
      debounce = setTimeout(() => void check(), 30);
      debounce.unref();
    });
    watcher.on("error", () => undefined);
  } catch {
    watcher = undefined;
  }
  const poll = setInterval(() => void check(), intervalMs);
  poll.unref();
  return {
    first: check(),
    stop() {
      stopped = true;
      clearInterval(poll);
      clearTimeout(debounce);
      watcher?.close();
    },
  };
}
