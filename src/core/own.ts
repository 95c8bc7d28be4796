/**
 * Sets `obj[key] = value` as an own, enumerable property. Plain assignment treats the key
 * `__proto__` as the object's prototype: with a key a client chose (a protobuf Struct or map key,
 * a JSON object's key copied field by field) the object would then inherit the client's fields.
 * JSON.parse keeps `__proto__` as an own field; this keeps copies the same.
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}
