//! XHTML from SCAP content made safe to put into a report.
//!
//! Descriptions and rationales are content's markup (`<html:code>`, `<xccdf-1.2:sub/>`), and
//! content is hostile input. The sanitizer tokenizes the markup itself instead of trusting it to
//! be well formed: it keeps only a short list of formatting elements with no attributes at all
//! (save `href` on `a`, and only for `http`, `https`, `mailto` and in-page links), drops the
//! content of elements that hold code or foreign markup (`script`, `style`, `svg`, ...), keeps
//! the text of every other element, closes what it opened, and escapes all text anew.
//! `xccdf:sub` references are replaced by the Value's effective value.

use std::collections::HashMap;

use crate::html::escape;

/// Formatting elements kept (without attributes, except `href` on `a`).
const KEPT: &[&str] = &[
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "dl",
    "dt",
    "em",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "tt",
    "ul",
];

/// Elements whose whole content is dropped with them.
const DROPPED: &[&str] = &[
    "applet", "audio", "canvas", "embed", "frame", "frameset", "head", "iframe", "math", "noembed",
    "noframes", "noscript", "object", "script", "select", "style", "svg", "template", "textarea",
    "title", "video",
];

/// Elements without content.
const VOID: &[&str] = &["br"];

/// Sanitizes `markup`; `values` resolves `xccdf:sub` references by Value id.
pub fn sanitize(markup: &str, values: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(markup.len());
    let mut open: Vec<&'static str> = Vec::new();
    // Depth inside a dropped element: nothing is written while it is above zero.
    let mut dropping: Vec<String> = Vec::new();
    let mut rest = markup;

    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if dropping.is_empty() {
                out.push_str(&escape(&decode_entities(rest)));
            }
            break;
        };
        if lt > 0 && dropping.is_empty() {
            out.push_str(&escape(&decode_entities(&rest[..lt])));
        }
        rest = &rest[lt..];

        // Comments, CDATA, processing instructions and declarations.
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let (text, tail) = after.split_once("]]>").unwrap_or((after, ""));
            if dropping.is_empty() {
                out.push_str(&escape(text));
            }
            rest = tail;
            continue;
        }
        if rest.starts_with("<?") || rest.starts_with("<!") {
            rest = rest.find('>').map_or("", |i| &rest[i + 1..]);
            continue;
        }

        let Some(tag) = Tag::parse(rest) else {
            // A `<` that starts no tag is text.
            if dropping.is_empty() {
                out.push_str("&lt;");
            }
            rest = &rest[1..];
            continue;
        };
        rest = &rest[tag.len..];

        if !dropping.is_empty() {
            if tag.closing && dropping.last() == Some(&tag.name) {
                dropping.pop();
            } else if !tag.closing && !tag.self_closing && DROPPED.contains(&tag.name.as_str()) {
                dropping.push(tag.name);
            }
            continue;
        }
        if DROPPED.contains(&tag.name.as_str()) {
            if !tag.closing && !tag.self_closing {
                dropping.push(tag.name);
            }
            continue;
        }
        if tag.name == "sub" && tag.prefixed {
            // `xccdf:sub idref="..."`: the Value's effective value.
            if let Some(v) = tag.attr("idref").and_then(|id| values.get(&id)) {
                out.push_str("<code>");
                out.push_str(&escape(v));
                out.push_str("</code>");
            }
            continue;
        }
        let Some(&name) = KEPT.iter().find(|k| **k == tag.name) else {
            continue;
        };
        // `tt` is obsolete in HTML5.
        let name = if name == "tt" { "code" } else { name };

        if VOID.contains(&name) {
            if !tag.closing {
                out.push_str("<br>");
            }
        } else if tag.closing {
            if let Some(pos) = open.iter().rposition(|o| *o == name) {
                for o in open.drain(pos..).rev() {
                    push_close(&mut out, o);
                }
            }
        } else {
            out.push('<');
            out.push_str(name);
            if name == "a" {
                if let Some(href) = tag.attr("href").filter(|h| safe_href(h)) {
                    out.push_str(" href=\"");
                    out.push_str(&escape(&href));
                    out.push_str("\" rel=\"noreferrer\"");
                }
            }
            out.push('>');
            if tag.self_closing {
                push_close(&mut out, name);
            } else {
                open.push(name);
            }
        }
    }
    for o in open.into_iter().rev() {
        push_close(&mut out, o);
    }
    out
}

fn push_close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Links that navigate and run nothing: web and mail addresses and anchors in the page.
fn safe_href(href: &str) -> bool {
    // Browsers ignore control characters and blanks inside a scheme (`java\tscript:`).
    let compact: String = href
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    ["http://", "https://", "mailto:", "#"]
        .iter()
        .any(|p| compact.starts_with(p))
}

/// One start or end tag.
struct Tag {
    /// Local name, lower case, without its namespace prefix.
    name: String,
    prefixed: bool,
    closing: bool,
    self_closing: bool,
    /// The text between the name and the closing `>`.
    attrs: String,
    /// Bytes the tag takes in the input.
    len: usize,
}

impl Tag {
    /// Parses a tag at the start of `s` (which starts with `<`).
    fn parse(s: &str) -> Option<Tag> {
        let body = &s[1..];
        let (closing, body) = match body.strip_prefix('/') {
            Some(b) => (true, b),
            None => (false, body),
        };
        let name_len = body
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, ':' | '-' | '_' | '.')))
            .unwrap_or(body.len());
        let raw_name = &body[..name_len];
        if raw_name.is_empty() || !raw_name.starts_with(|c: char| c.is_alphabetic()) {
            return None;
        }
        let end = find_tag_end(&body[name_len..])?;
        let inner = &body[name_len..name_len + end];
        let self_closing = inner.trim_end().ends_with('/');
        let (prefixed, local) = match raw_name.rsplit_once(':') {
            Some((_, local)) => (true, local),
            None => (false, raw_name),
        };
        Some(Tag {
            name: local.to_ascii_lowercase(),
            prefixed,
            closing,
            self_closing,
            attrs: inner.trim_end_matches('/').to_string(),
            len: 1 + usize::from(closing) + name_len + end + 1,
        })
    }

    /// The decoded value of attribute `name` (matched without its prefix, any case).
    fn attr(&self, name: &str) -> Option<String> {
        let mut rest = self.attrs.as_str();
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
            if rest.is_empty() {
                return None;
            }
            let key_len = rest
                .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
                .unwrap_or(rest.len());
            let key = &rest[..key_len];
            rest = rest[key_len..].trim_start();
            let value = if let Some(after) = rest.strip_prefix('=') {
                let after = after.trim_start();
                let (value, tail) = match after.chars().next() {
                    Some(q @ ('"' | '\'')) => {
                        let inner = &after[1..];
                        match inner.find(q) {
                            Some(i) => (&inner[..i], &inner[i + 1..]),
                            None => (inner, ""),
                        }
                    }
                    _ => {
                        let i = after.find(char::is_whitespace).unwrap_or(after.len());
                        (&after[..i], &after[i..])
                    }
                };
                rest = tail;
                value
            } else {
                ""
            };
            let local = key.rsplit_once(':').map_or(key, |(_, l)| l);
            if local.eq_ignore_ascii_case(name) {
                return Some(decode_entities(value));
            }
        }
    }
}

/// Where the `>` that ends a tag is, skipping quoted attribute values.
fn find_tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

/// Replaces XML's predefined entities and character references; anything else stays as text.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|&j| j <= 12).and_then(|j| {
            let c = match &rest[1..j] {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                e => e
                    .strip_prefix("#x")
                    .or_else(|| e.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, j))
        });
        match decoded {
            Some((c, j)) => {
                out.push(c);
                rest = &rest[j + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> String {
        sanitize(s, &HashMap::new())
    }

    #[test]
    fn keeps_formatting_without_attributes() {
        assert_eq!(
            clean(r#"<html:p class="x">Set <html:code style="c">a &amp; b</html:code></html:p>"#),
            "<p>Set <code>a &amp; b</code></p>"
        );
        assert_eq!(clean("a<html:br/>b"), "a<br>b");
    }

    #[test]
    fn scripts_and_handlers_are_neutralised() {
        let out = clean(
            r#"<script>alert(1)</script><p onclick="alert(2)">x</p><img src=x onerror=alert(3)>"#,
        );
        assert_eq!(out, "<p>x</p>");
        let out =
            clean(r#"<a href="javascript:alert(1)">y</a><a href=" JaVa&#x09;script:z">w</a>"#);
        assert_eq!(out, "<a>y</a><a>w</a>");
        let out = clean(r#"<a href="https://example.org/?a=1&amp;b=&quot;2">ok</a>"#);
        assert_eq!(
            out,
            r#"<a href="https://example.org/?a=1&amp;b=&quot;2" rel="noreferrer">ok</a>"#
        );
    }

    #[test]
    fn nested_and_unclosed_dropped_elements_drop_everything_inside() {
        assert_eq!(clean("<style><style></style>x</style>y"), "y");
        assert_eq!(clean("a<script>never closed <p>b</p>"), "a");
        assert_eq!(clean("<svg><script>1</script></svg>ok"), "ok");
    }

    #[test]
    fn broken_markup_stays_text_and_tags_are_balanced() {
        assert_eq!(clean("a < b & c"), "a &lt; b &amp; c");
        assert_eq!(
            clean("<ul><li>one<li>two</ul>"),
            "<ul><li>one<li>two</li></li></ul>"
        );
        assert_eq!(clean("</p>x<em>y"), "x<em>y</em>");
        assert_eq!(clean("<!-- <script> -->z<![CDATA[<b>]]>"), "z&lt;b&gt;");
        assert_eq!(clean("&lt;script&gt;"), "&lt;script&gt;");
    }

    #[test]
    fn sub_takes_the_value() {
        let values = HashMap::from([("v_days".to_string(), "60<".to_string())]);
        let out = sanitize(
            r#"at most <xccdf-1.2:sub idref="v_days" use="legacy"/> days"#,
            &values,
        );
        assert_eq!(out, "at most <code>60&lt;</code> days");
    }
}
