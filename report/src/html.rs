//! One offline HTML page per report: each section's figures, tables and files copied beside
//! `index.html` and linked relatively, so that the page works from `file://` with no network.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ReportError;

/// A page: a title, optional notes, and one section per report node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// The page's title, e.g. the spec's name.
    pub title: String,
    /// Free text shown under the title (line breaks kept).
    pub notes: Option<String>,
    /// The sections, in the order shown.
    pub sections: Vec<Section>,
}

/// One report node's artifacts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// The node's name, e.g. "heat".
    pub name: String,
    /// The node's operation, e.g. "generalization_matrix".
    pub op: String,
    /// The folder holding the node's files.
    pub dir: PathBuf,
    /// The node's provenance (operation, version, params, inputs, host, timing, ...).
    pub provenance: Option<serde_json::Value>,
}

/// CSV tables show at most this many rows; the file has the rest.
const TABLE_ROWS: usize = 200;

/// Figures drawn in this order when present; the others follow by name.
const FIGURE_ORDER: [&str; 4] = [
    "matrix_absolute",
    "matrix_delta",
    "gain_by_gap",
    "accuracy_curves",
];

/// Writes `out/index.html` (creating `out`) with a section per [`Section`], in order. Each
/// section's files are copied into `out/<name>/` and linked relatively: SVG figures are shown
/// (PNG when there is no SVG) with links to their PNG, CSV tables are shown (first 200 rows),
/// JSON and other files are linked, and the provenance is a collapsible key/value table.
/// Subfolders of a section's folder are left out.
///
/// An inline script marks the page once loaded: `<body data-figures="ok N">` when all N
/// figures loaded, or `data-figures="broken: <src> ..."` naming the ones that did not.
///
/// Returns the names of the files written, relative to `out`, `index.html` first.
pub fn write_html(page: &Page, out: &Path) -> Result<Vec<String>, ReportError> {
    fs::create_dir_all(out).map_err(|e| ReportError::io(out, e))?;
    let mut written = vec!["index.html".to_string()];
    let mut folders = HashSet::new();
    let mut body = String::new();
    let mut contents = String::new();
    for section in &page.sections {
        let folder = unique(folder_name(&section.name), &mut folders);
        let files = copy_files(section, out, &folder)?;
        written.extend(files.iter().map(|f| format!("{folder}/{f}")));
        let _ = writeln!(
            contents,
            "<li><a href=\"#{id}\">{name}</a> <span class=\"op\">{op}</span></li>",
            id = escape(&folder),
            name = escape(&section.name),
            op = escape(&section.op),
        );
        body.push_str(&render_section(section, out, &folder, &files));
    }

    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n\
         <body data-figures=\"pending\">\n<header>\n<h1>{title}</h1>\n",
        title = escape(&page.title),
    );
    if let Some(notes) = &page.notes {
        let _ = writeln!(html, "<p class=\"notes\">{}</p>", escape(notes));
    }
    if !page.sections.is_empty() {
        let _ = writeln!(html, "<nav><ol>\n{contents}</ol></nav>");
    }
    html.push_str("</header>\n<main>\n");
    html.push_str(&body);
    if page.sections.is_empty() {
        html.push_str("<p class=\"empty\">This report has no sections.</p>\n");
    }
    let _ = write!(
        html,
        "</main>\n<footer>Written by rung-report {}. Every file is beside this page; \
         nothing is fetched from the network.</footer>\n<script>{SCRIPT}</script>\n\
         </body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    let index = out.join("index.html");
    fs::write(&index, html).map_err(|e| ReportError::io(&index, e))?;
    Ok(written)
}

/// A folder name for a section: letters, digits, `.`, `_` and `-`; others become `_`.
fn folder_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "section".to_string()
    } else {
        cleaned
    }
}

/// `name`, or `name-2`, `name-3`, ... when taken.
fn unique(name: String, taken: &mut HashSet<String>) -> String {
    let mut candidate = name.clone();
    let mut k = 2;
    while taken.contains(&candidate) {
        candidate = format!("{name}-{k}");
        k += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

/// Copies the plain files of `section.dir` into `out/folder` (unless they are already there);
/// returns their names, sorted.
fn copy_files(section: &Section, out: &Path, folder: &str) -> Result<Vec<String>, ReportError> {
    let entries = fs::read_dir(&section.dir).map_err(|e| ReportError::io(&section.dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ReportError::io(&section.dir, e))?;
        let path = entry.path();
        let is_file = entry
            .file_type()
            .map_err(|e| ReportError::io(&path, e))?
            .is_file()
            || path.is_file();
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_file && !name.starts_with('.') {
            files.push(name);
        }
    }
    files.sort();
    let target = out.join(folder);
    fs::create_dir_all(&target).map_err(|e| ReportError::io(&target, e))?;
    let same = match (fs::canonicalize(&section.dir), fs::canonicalize(&target)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same {
        for name in &files {
            let (from, to) = (section.dir.join(name), target.join(name));
            fs::copy(&from, &to).map_err(|e| ReportError::io(&from, e))?;
        }
    }
    Ok(files)
}

fn extension(name: &str) -> String {
    Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn stem(name: &str) -> String {
    Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string())
}

fn render_section(section: &Section, out: &Path, folder: &str, files: &[String]) -> String {
    let href = |name: &str| escape(&format!("{}/{}", encode(folder), encode(name)));
    let mut html = String::new();
    let _ = writeln!(
        html,
        "<section id=\"{id}\">\n<h2>{name} <span class=\"op\">{op}</span></h2>",
        id = escape(folder),
        name = escape(&section.name),
        op = escape(&section.op),
    );

    let has = |stem_: &str, ext: &str| files.iter().any(|f| *f == format!("{stem_}.{ext}"));
    // Figures: SVGs, and PNGs that have no SVG.
    let mut figures: Vec<&String> = files
        .iter()
        .filter(|f| match extension(f).as_str() {
            "svg" => true,
            "png" => !has(&stem(f), "svg"),
            _ => false,
        })
        .collect();
    figures.sort_by_key(|f| {
        let s = stem(f);
        (
            FIGURE_ORDER
                .iter()
                .position(|o| *o == s)
                .unwrap_or(FIGURE_ORDER.len()),
            (*f).clone(),
        )
    });
    if !figures.is_empty() {
        html.push_str("<div class=\"figures\">\n");
        for figure in figures {
            let s = stem(figure);
            let mut links = vec![format!(
                "<a href=\"{}\">{}</a>",
                href(figure),
                escape(&extension(figure).to_uppercase())
            )];
            if extension(figure) == "svg" && has(&s, "png") {
                links.push(format!("<a href=\"{}\">PNG</a>", href(&format!("{s}.png"))));
            }
            let _ = writeln!(
                html,
                "<figure><a href=\"{src}\"><img src=\"{src}\" alt=\"{alt}\"></a>\
                 <figcaption>{alt} · {links}</figcaption></figure>",
                src = href(figure),
                alt = escape(&s),
                links = links.join(" · "),
            );
        }
        html.push_str("</div>\n");
    }

    for table in files.iter().filter(|f| extension(f) == "csv") {
        let _ = writeln!(
            html,
            "<h3>{name} <a class=\"download\" href=\"{href}\">download CSV</a></h3>",
            name = escape(table),
            href = href(table),
        );
        html.push_str(&render_table(&out.join(folder).join(table), table));
    }

    let others: Vec<&String> = files
        .iter()
        .filter(|f| !matches!(extension(f).as_str(), "svg" | "csv"))
        // PNGs are figures (no SVG) or linked from their SVG's caption.
        .filter(|f| extension(f) != "png")
        .collect();
    if !others.is_empty() {
        html.push_str("<p class=\"files\">Files: ");
        let links: Vec<String> = others
            .iter()
            .map(|f| format!("<a href=\"{}\">{}</a>", href(f), escape(f)))
            .collect();
        html.push_str(&links.join(" · "));
        html.push_str("</p>\n");
    }
    if let Some(provenance) = &section.provenance {
        html.push_str(&render_provenance(provenance));
    }
    if files.is_empty() {
        html.push_str("<p class=\"empty\">No files.</p>\n");
    }
    html.push_str("</section>\n");
    html
}

/// A CSV file as a table: the first row as the header, at most [`TABLE_ROWS`] rows after it.
fn render_table(path: &Path, name: &str) -> String {
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path);
    let mut reader = match reader {
        Ok(reader) => reader,
        Err(e) => {
            return format!(
                "<p class=\"empty\">Cannot read {}: {}</p>\n",
                escape(name),
                escape(&e.to_string())
            );
        }
    };
    let mut html = String::from("<div class=\"table\"><table>\n");
    let mut rows = 0usize;
    for (k, record) in reader.records().enumerate() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let _ = writeln!(
                    html,
                    "</table></div><p class=\"empty\">{}: {}</p>",
                    escape(name),
                    escape(&e.to_string())
                );
                return html;
            }
        };
        if k == 0 {
            html.push_str("<thead><tr>");
            for field in &record {
                let _ = write!(html, "<th>{}</th>", escape(field));
            }
            html.push_str("</tr></thead>\n<tbody>\n");
            continue;
        }
        rows += 1;
        if rows > TABLE_ROWS {
            continue;
        }
        html.push_str("<tr>");
        for field in &record {
            html.push_str(&render_cell(field));
        }
        html.push_str("</tr>\n");
    }
    if rows == 0 && html.ends_with("<table>\n") {
        return "<p class=\"empty\">Empty table.</p>\n".to_string();
    }
    html.push_str("</tbody></table></div>\n");
    if rows > TABLE_ROWS {
        let _ = writeln!(
            html,
            "<p class=\"more\">… {} more rows in {}</p>",
            rows - TABLE_ROWS,
            escape(name)
        );
    }
    html
}

/// A table cell: numbers right-aligned and shortened to 4 decimals (the full value on hover).
fn render_cell(field: &str) -> String {
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() && !field.trim().is_empty() => {
            let decimals = field.split('.').nth(1).map_or(0, str::len);
            let shown = if decimals > 4 {
                let s = format!("{v:.4}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                field.to_string()
            };
            format!(
                "<td class=\"num\" title=\"{}\">{}</td>",
                escape(field),
                escape(&shown)
            )
        }
        _ => format!("<td>{}</td>", escape(field)),
    }
}

/// The provenance as a collapsible key/value table.
fn render_provenance(provenance: &serde_json::Value) -> String {
    let mut html = String::from("<details class=\"provenance\"><summary>provenance</summary>\n");
    match provenance {
        serde_json::Value::Object(map) => {
            html.push_str("<table>\n");
            for (key, value) in map {
                let _ = writeln!(
                    html,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    escape(key),
                    render_value(value)
                );
            }
            html.push_str("</table>\n");
        }
        other => html.push_str(&render_value(other)),
    }
    html.push_str("</details>\n");
    html
}

fn render_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "—".to_string(),
        serde_json::Value::String(s) => escape(s),
        serde_json::Value::Bool(_) | serde_json::Value::Number(_) => escape(&value.to_string()),
        nested => format!(
            "<pre>{}</pre>",
            escape(&serde_json::to_string_pretty(nested).unwrap_or_default())
        ),
    }
}

/// `text` safe inside HTML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A path segment percent-encoded for a relative URL.
fn encode(segment: &str) -> String {
    let mut encoded = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

const STYLE: &str = "
:root { color-scheme: light; --ink: #212121; --muted: #616161; --line: #e0e0e0; --accent: #1f3b73; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, Ubuntu, sans-serif;
  color: var(--ink); background: #fafafa; }
header, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 20px; margin: 0 0 14px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
.op { font: 13px ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; color: var(--muted);
  background: #eeeeee; border-radius: 4px; padding: 1px 6px; vertical-align: middle; }
.notes { white-space: pre-wrap; color: var(--muted); margin: 0 0 10px; }
nav ol { margin: 8px 0 20px; padding-left: 22px; }
nav li { margin: 2px 0; }
a { color: var(--accent); }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px;
  margin: 0 0 22px; }
.figures { display: flex; flex-wrap: wrap; gap: 18px; }
figure { margin: 0; flex: 1 1 520px; max-width: 820px; }
figure img { display: block; width: 100%; height: auto; border: 1px solid var(--line);
  border-radius: 4px; background: #fff; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
.table { max-height: 420px; overflow: auto; border: 1px solid var(--line); border-radius: 4px; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
.table table { min-width: 50%; }
th, td { padding: 3px 10px; border-bottom: 1px solid #f0f0f0; text-align: left; vertical-align: top; }
.table thead th { position: sticky; top: 0; background: #f5f5f5; border-bottom: 1px solid var(--line); }
.table tbody tr:nth-child(even) { background: #fafafa; }
td.num { text-align: right; }
.download { font-weight: normal; font-size: 13px; margin-left: 8px; }
.more, .files, .empty { font-size: 13px; color: var(--muted); }
details.provenance { margin-top: 14px; font-size: 13px; }
details.provenance summary { cursor: pointer; color: var(--muted); }
details.provenance th { color: var(--muted); font-weight: 600; white-space: nowrap; }
details.provenance pre { margin: 0; font-size: 12px; white-space: pre-wrap; }
.warning { background: #fdecea; color: #8a1c1c; border: 1px solid #f5c2c0; border-radius: 6px;
  padding: 8px 12px; margin: 0 0 16px; }
footer { color: var(--muted); font-size: 12px; padding-bottom: 28px; }
";

/// Marks the body with whether every figure loaded, for readers and for tests.
const SCRIPT: &str = "
window.addEventListener('load', function () {
  var broken = [];
  var images = document.querySelectorAll('img');
  images.forEach(function (img) {
    if (!(img.complete && img.naturalWidth > 0)) { broken.push(img.getAttribute('src')); }
  });
  var inline = document.querySelectorAll('figure > svg');
  inline.forEach(function (svg, k) {
    var box = svg.getBoundingClientRect();
    if (!(box.width > 0 && box.height > 0)) { broken.push('inline-svg-' + k); }
  });
  if (broken.length) {
    document.body.setAttribute('data-figures', 'broken: ' + broken.join(' '));
    var warning = document.createElement('p');
    warning.className = 'warning';
    warning.textContent = 'Some figures did not load: ' + broken.join(', ');
    var main = document.querySelector('main');
    main.insertBefore(warning, main.firstChild);
  } else {
    document.body.setAttribute('data-figures', 'ok ' + (images.length + inline.length));
  }
});
";

#[cfg(test)]
mod tests {
    use super::*;

    fn section(dir: &Path, name: &str, files: &[(&str, &str)]) -> Section {
        let folder = dir.join(format!("src-{name}"));
        fs::create_dir_all(&folder).expect("created");
        for (file, text) in files {
            fs::write(folder.join(file), text).expect("written");
        }
        Section {
            name: name.to_string(),
            op: "generalization_matrix".to_string(),
            dir: folder,
            provenance: None,
        }
    }

    const SVG: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>"#;

    /// The `src` and `href` targets in `html`, unescaped and decoded.
    fn targets(html: &str) -> Vec<String> {
        let mut found = Vec::new();
        for attribute in ["src=\"", "href=\""] {
            for part in html.split(attribute).skip(1) {
                let Some(end) = part.find('"') else { continue };
                let target = part[..end].replace("&amp;", "&");
                if target.starts_with('#') {
                    continue;
                }
                found.push(decode(&target));
            }
        }
        found
    }

    fn decode(url: &str) -> String {
        let bytes = url.as_bytes();
        let mut out = Vec::new();
        let mut k = 0;
        while k < bytes.len() {
            if bytes[k] == b'%' {
                let hex = std::str::from_utf8(&bytes[k + 1..k + 3]).expect("ascii");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                k += 3;
            } else {
                out.push(bytes[k]);
                k += 1;
            }
        }
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_page_links_every_file_and_escapes_everything() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let heat = section(
            dir.path(),
            "heat",
            &[
                ("matrix_absolute.svg", SVG),
                ("matrix_absolute.png", "png"),
                ("matrix_delta.svg", SVG),
                (
                    "matrix.csv",
                    "train,eval,value\n0,<script>alert(1)</script>,0.123456789\n",
                ),
                ("matrix.json", "{}"),
            ],
        );
        let mut gap = section(
            dir.path(),
            "gap & <b>",
            &[
                ("gain by gap.svg", SVG),
                ("gain_by_gap.csv", "gap,cells\n0,3\n"),
            ],
        );
        gap.provenance = Some(serde_json::json!({
            "operation": "gain_by_gap",
            "version": 1,
            "params": {"statistic": "mean"},
            "host": "<host>",
        }));
        let page = Page {
            title: "Study <1> & \"2\"".to_string(),
            notes: Some("first line\nsecond <line>".to_string()),
            sections: vec![heat, gap],
        };
        let out = dir.path().join("page");
        let written = write_html(&page, &out).expect("written");
        assert_eq!(written[0], "index.html");
        assert!(
            written.contains(&"heat/matrix.csv".to_string()),
            "{written:?}"
        );
        assert!(
            written.contains(&"gap____b_/gain by gap.svg".to_string()),
            "{written:?}"
        );

        let html = fs::read_to_string(out.join("index.html")).expect("written");
        let targets = targets(&html);
        assert!(targets.len() >= 9, "{targets:?}");
        for target in &targets {
            assert!(
                out.join(target).is_file(),
                "{target} does not exist beside index.html"
            );
        }
        assert_eq!(html.matches("<img ").count(), 3);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("<title>Study &lt;1&gt; &amp; &quot;2&quot;</title>"));
        assert!(html.contains("second &lt;line&gt;"));
        assert!(html.contains("gap &amp; &lt;b&gt;"));
        assert!(html.contains("title=\"0.123456789\">0.1235</td>"));
        assert!(html.contains("<details class=\"provenance\">"));
        assert!(html.contains("<th>operation</th><td>gain_by_gap</td>"));
        assert!(html.contains("&lt;host&gt;"));
        assert!(html.contains("&quot;statistic&quot;: &quot;mean&quot;"));
        // The absolute heatmap comes before the delta, and links its PNG.
        let absolute = html.find("heat/matrix_absolute.svg").expect("absolute");
        let delta = html.find("heat/matrix_delta.svg").expect("delta");
        assert!(absolute < delta);
        assert!(html.contains("href=\"heat/matrix_absolute.png\">PNG</a>"));
        assert!(html.contains("href=\"heat/matrix.json\">matrix.json</a>"));
        // Nothing from the network.
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("//cdn"));
    }

    #[test]
    fn long_tables_are_cut() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut csv = String::from("k\n");
        for k in 0..250 {
            csv.push_str(&format!("{k}\n"));
        }
        let page = Page {
            title: "t".to_string(),
            notes: None,
            sections: vec![section(dir.path(), "big", &[("rows.csv", &csv)])],
        };
        let out = dir.path().join("page");
        write_html(&page, &out).expect("written");
        let html = fs::read_to_string(out.join("index.html")).expect("written");
        assert_eq!(html.matches("<td class=\"num\"").count(), TABLE_ROWS);
        assert!(html.contains("… 50 more rows in rows.csv"));
    }

    #[test]
    fn an_empty_page_is_valid_and_a_missing_folder_is_named() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let page = Page {
            title: "empty".to_string(),
            notes: None,
            sections: vec![],
        };
        assert_eq!(
            write_html(&page, dir.path()).expect("written"),
            ["index.html"]
        );
        let html = fs::read_to_string(dir.path().join("index.html")).expect("written");
        assert!(html.contains("data-figures=\"pending\""));
        assert!(html.trim_end().ends_with("</html>"));

        let missing = Page {
            title: "missing".to_string(),
            notes: None,
            sections: vec![Section {
                name: "heat".to_string(),
                op: "generalization_matrix".to_string(),
                dir: dir.path().join("nowhere"),
                provenance: None,
            }],
        };
        let error = write_html(&missing, &dir.path().join("page")).expect_err("no folder");
        assert!(error.to_string().contains("nowhere"), "{error}");
    }

    #[test]
    fn sections_in_place_are_not_copied_onto_themselves() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = dir.path().join("page");
        fs::create_dir_all(out.join("heat")).expect("created");
        fs::write(out.join("heat/a.svg"), SVG).expect("written");
        let page = Page {
            title: "t".to_string(),
            notes: None,
            sections: vec![Section {
                name: "heat".to_string(),
                op: "op".to_string(),
                dir: out.join("heat"),
                provenance: None,
            }],
        };
        write_html(&page, &out).expect("written");
        assert_eq!(
            fs::read_to_string(out.join("heat/a.svg")).expect("kept"),
            SVG
        );
    }

    #[test]
    fn duplicate_names_get_their_own_folders() {
        let mut taken = HashSet::new();
        assert_eq!(unique("a".into(), &mut taken), "a");
        assert_eq!(unique("a".into(), &mut taken), "a-2");
        assert_eq!(folder_name("../x y"), "_x_y");
        assert_eq!(folder_name(""), "section");
    }
}
