// The one policy for markup and URLs that the app did not write (Markdown, chat messages): a
// DOMPurify instance of its own, so a custom component's DOMPurify settings cannot loosen it.
// Scripts, event handler attributes and frames are removed; URLs may only be web pages, mail
// or this app's paths (data: only in media sources). Links to other sites open in a new tab
// without access to this page.

import DOMPurify from "./vendor/purify.es.mjs";

const purifier = DOMPurify(window);

purifier.setConfig({
  // DOMPurify drops control characters and whitespace from a URL before matching, as the
  // browser's URL parser does, so "\x01javascript:" and "java\tscript:" are caught too.
  ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.:-]|$))/i,
  FORBID_TAGS: ["style", "form"], // no restyling or form posts from inside a message
  RETURN_DOM_FRAGMENT: true,
});

purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.localName !== "a" || !node.hasAttribute("href")) return;
  const url = new URL(node.getAttribute("href"), document.baseURI);
  if (url.origin === window.location.origin) return;
  node.setAttribute("target", "_blank");
  node.setAttribute("rel", "noopener noreferrer");
});

// The inert part of `html`, as a fragment of this document.
export function sanitizeHtml(html) {
  return purifier.sanitize(String(html)) ?? document.createDocumentFragment();
}

// `url` if the policy lets `tag`'s `attribute` hold it, else null.
export function allowedUrl(url, tag = "a", attribute = "href") {
  return purifier.isValidAttribute(tag, attribute, String(url)) ? String(url) : null;
}
