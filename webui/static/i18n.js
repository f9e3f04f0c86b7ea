// gr.I18n in the page: strings the server marked `__i18n__{"__type__": ..., "key": k}` (in the
// config and in event outputs) become the text for the browser's language, from the table
// launch(i18n=...) put into /config. A locale matches exactly, then by language ("fr-CA" finds
// "fr"); without a match English is used, and without that the key itself.

const MARKER = /__i18n__(\{"__type__": "translation_metadata", "key": (?:"(?:[^"\\]|\\.)*")\})/g;
let table = null; // the chosen language's entries, or null when the app has no translations

export function useTranslations(translations, languages = navigator.languages ?? [navigator.language]) {
  if (!translations) return;
  const locales = Object.keys(translations);
  const pick = (wanted) =>
    locales.find((l) => l.toLowerCase() === wanted.toLowerCase()) ??
    locales.find((l) => l.toLowerCase().split("-")[0] === wanted.toLowerCase().split("-")[0]);
  const chosen = languages.map(pick).find(Boolean) ?? pick("en");
  table = chosen ? translations[chosen] : {};
}

// `value` with every marked string translated: strings, and those inside arrays and objects.
export function translate(value) {
  if (typeof value === "string") {
    if (!value.includes("__i18n__")) return value;
    return value.replace(MARKER, (_, data) => {
      const { key } = JSON.parse(data);
      return table?.[key] ?? key;
    });
  }
  if (Array.isArray(value)) return value.map(translate);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, translate(v)]));
  }
  return value;
}
