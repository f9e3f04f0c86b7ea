// BrowserState: a JSON value in localStorage under `storage_key`, read at page load and sent
// with every event; values events return are stored. Stored as plain JSON (not encrypted).

function load(key, fallback) {
  try {
    const stored = window.localStorage.getItem(key);
    return stored == null ? fallback : JSON.parse(stored);
  } catch {
    return fallback;
  }
}

export function browserstate(props) {
  const key = `webui:${props.storage_key}`;
  let value = load(key, props.default_value ?? null);
  return {
    element: null,
    getValue: () => value,
    setValue(next) {
      value = next ?? null;
      try {
        window.localStorage.setItem(key, JSON.stringify(value));
      } catch {
        // storage full or disabled: the value lives for this page only
      }
    },
  };
}
