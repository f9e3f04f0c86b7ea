"""Translations of the page's text by the browser's language, as Gradio's `gr.I18n`.

`i18n = gr.I18n(en={"greet": "Hello"}, fr={"greet": "Bonjour"})` keeps the table; `i18n("greet")`
stands for the text wherever a string goes (a label, a value, a choice). It is a string,
`__i18n__{"__type__": "translation_metadata", "key": "greet"}`, which is what Gradio sends for
it too. `launch(i18n=i18n)` puts the table into `/config` (`i18n_translations`), and the page
(`static/i18n.js`) replaces each such string, in the config and in event outputs, by the entry
of the first of `navigator.languages` the table has (`fr-CA` finds `fr`), else English, else
the key itself.
"""

from __future__ import annotations

import json
import logging
import re

logger = logging.getLogger(__name__)
MARKER = "__i18n__"
_LOCALE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


class I18nData(str):
    """A translation key as the marked string the page translates (`"a" + i18n("b")` works)."""

    key: str

    def __new__(cls, key: str) -> I18nData:
        if not isinstance(key, str):
            raise TypeError(f"a translation key must be a string, got {key!r}")
        text = MARKER + json.dumps({"__type__": "translation_metadata", "key": key})
        marked = super().__new__(cls, text)
        marked.key = key
        return marked

    def __getnewargs__(self) -> tuple[str]:  # copies and pickles are made from the key
        return (self.key,)

    def to_dict(self) -> dict[str, str]:
        return {"__type__": "translation_metadata", "key": self.key}


class I18n:
    """The translation table: one keyword per locale (BCP 47: "en", "pt-BR"), each a dict
    from key to text. Calling it with a key gives the text's stand-in (`I18nData`)."""

    def __init__(self, **translations: dict[str, str]):
        for locale, table in translations.items():
            if not isinstance(table, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in table.items()
            ):
                raise TypeError(f"I18n({locale}=...) must map keys to strings, got {table!r}")
            if not _LOCALE.fullmatch(locale):
                # As Gradio: kept, though no browser language will match it.
                logger.warning("I18n locale %r is not a BCP 47 code such as 'en-US'", locale)
        self.translations = {locale: dict(table) for locale, table in translations.items()}

    def __call__(self, key: str) -> I18nData:
        return I18nData(key)

    @property
    def translations_dict(self) -> dict[str, dict[str, str]]:
        return self.translations
