// A small, safe Markdown renderer: the source is HTML-escaped first, so only the markup made
// here reaches the page. Headings, paragraphs, emphasis, code, links, lists, quotes, rules,
// and GitHub's pipe tables.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

// Links may go to web pages, mail, or paths of this app; never javascript: or data:.
function safeUrl(url) {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  if (scheme && !["http", "https", "mailto"].includes(scheme[1].toLowerCase())) return null;
  return url;
}

function inline(text) {
  const codes = [];
  let out = text.replace(/`([^`]+)`/g, (_, code) => {
    codes.push(`<code>${code}</code>`);
    return `\u0000${codes.length - 1}\u0000`;
  });
  out = out.replace(/!?\[([^\]]*)\]\(([^)\s]+)\)/g, (match, label, url) => {
    const href = safeUrl(url);
    if (href === null) return label;
    if (match.startsWith("!")) return `<img src="${href}" alt="${label}">`;
    return `<a href="${href}" target="_blank" rel="noopener noreferrer">${label}</a>`;
  });
  out = out
    .replace(/\*\*(.+?)\*\*|__(.+?)__/g, (_, a, b) => `<strong>${a ?? b}</strong>`)
    .replace(/(^|[^*\w])\*(?!\s)(.+?)\*(?!\w)/g, "$1<em>$2</em>")
    .replace(/(^|[^_\w])_(?!\s)(.+?)_(?!\w)/g, "$1<em>$2</em>")
    .replace(/~~(.+?)~~/g, "<del>$1</del>");
  return out.replace(/\u0000(\d+)\u0000/g, (_, i) => codes[Number(i)]);
}

const LIST_ITEM = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/;

function renderList(lines, start) {
  const ordered = /\d/.test(LIST_ITEM.exec(lines[start])[2]);
  const items = [];
  let i = start;
  while (i < lines.length) {
    const match = LIST_ITEM.exec(lines[i]);
    if (match) {
      items.push(match[3]);
    } else if (/^\s+\S/.test(lines[i]) && items.length) {
      items[items.length - 1] += ` ${lines[i].trim()}`;
    } else break;
    i += 1;
  }
  const tag = ordered ? "ol" : "ul";
  const body = items.map((item) => `<li>${inline(item)}</li>`).join("");
  return [`<${tag}>${body}</${tag}>`, i];
}

// A pipe table's cells: outer pipes dropped, split at pipes not escaped as `\|`.
function tableCells(line) {
  const cells = line.trim().replace(/^\|/, "").replace(/(?<!\\)\|$/, "").split(/(?<!\\)\|/);
  return cells.map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

const TABLE_DELIMITER = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

// The alignments of a header row followed by its delimiter row, or null if they don't make a
// table (GitHub requires as many delimiter cells as header cells).
function tableStart(lines, i) {
  const delimiter = lines[i + 1] ?? "";
  if (!lines[i].includes("|") || !delimiter.includes("|") || !TABLE_DELIMITER.test(delimiter)) {
    return null;
  }
  const delimiters = tableCells(delimiter);
  if (delimiters.length !== tableCells(lines[i]).length) return null;
  return delimiters.map((d) => {
    if (d.startsWith(":") && d.endsWith(":")) return "center";
    if (d.endsWith(":")) return "right";
    return d.startsWith(":") ? "left" : null;
  });
}

// Rows run to the first blank line or line without a pipe; short rows are padded, long cut.
function renderTable(lines, start, aligns) {
  const cell = (tag, text, j) => {
    const style = aligns[j] ? ` style="text-align: ${aligns[j]}"` : "";
    return `<${tag}${style}>${inline(text ?? "")}</${tag}>`;
  };
  const row = (line, tag) => {
    const cells = tableCells(line);
    return `<tr>${aligns.map((_, j) => cell(tag, cells[j], j)).join("")}</tr>`;
  };
  let i = start + 2;
  const body = [];
  while (i < lines.length && lines[i].trim() && lines[i].includes("|")) {
    body.push(row(lines[i], "td"));
    i += 1;
  }
  const head = `<thead>${row(lines[start], "th")}</thead>`;
  return [`<table>${head}<tbody>${body.join("")}</tbody></table>`, i];
}

function renderBlocks(lines) {
  const html = [];
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) html.push(`<p>${inline(paragraph.join("\n")).replace(/\n/g, "<br>")}</p>`);
    paragraph = [];
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    const aligns = tableStart(lines, i);
    if (!line.trim()) {
      flush();
      i += 1;
    } else if (heading) {
      flush();
      const level = heading[1].length;
      html.push(`<h${level}>${inline(heading[2])}</h${level}>`);
      i += 1;
    } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flush();
      html.push("<hr>");
      i += 1;
    } else if (aligns) {
      flush();
      const [table, next] = renderTable(lines, i, aligns);
      html.push(table);
      i = next;
    } else if (LIST_ITEM.test(line)) {
      flush();
      const [list, next] = renderList(lines, i);
      html.push(list);
      i = next;
    } else if (line.startsWith("&gt;")) {
      flush();
      const quoted = [];
      while (i < lines.length && lines[i].startsWith("&gt;")) {
        quoted.push(lines[i].replace(/^&gt;\s?/, ""));
        i += 1;
      }
      html.push(`<blockquote>${renderBlocks(quoted)}</blockquote>`);
    } else {
      paragraph.push(line);
      i += 1;
    }
  }
  flush();
  return html.join("\n");
}

export function renderMarkdown(source) {
  if (source == null) return "";
  const parts = escapeHtml(source).split(/^```[^\n]*\n([\s\S]*?)^```[ \t]*$/m);
  // split() with one capture group alternates: text, code, text, code, ...
  return parts
    .map((part, i) =>
      i % 2 ? `<pre><code>${part.replace(/\n$/, "")}</code></pre>` : renderBlocks(part.split("\n")),
    )
    .join("\n");
}
