//! `otwitness report` end to end: the bundled captures (and the shared ones when present) are
//! analysed by the binary, the report is made by the binary, and the page is opened in headless
//! Debian Chromium (driven by `report_browser.py` through Selenium) to check that it loads
//! without console errors, that its charts drew the evidence's numbers, that a table sorts when
//! its header is clicked, and that a screenshot of real content is written. Expected figures
//! come from the fixtures' `truth.json`, the shared `ground_truth.json`, `sha256sum` and DuckDB,
//! never from the page itself. A hostile tag name proves that evidence text is escaped.
//!
//! Without chromium, chromedriver or Python's selenium the browser part skips with a reason
//! (on CI it fails instead); the HTML checks still run.

mod evidence_fixture;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use analytics::evidence::Attribution;
use evidence_fixture::Scratch;
use serde_json::Value;

/// The fixtures this branch decodes completely (TLS scenarios need the TLS dissector).
const FIXTURES: [&str; 11] = [
    "modbus-basic",
    "modbus-tls12",
    "modbus-tls12-null",
    "modbus-tls13",
    "s7comm-basic",
    "opcua-none",
    "opcua-sign",
    "opcua-encrypt",
    "enip-basic",
    "enip-tls12-null",
    "enip-tls12",
];

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn otwitness(args: &[&str], config: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_otwitness"))
        .env("XDG_CONFIG_HOME", config)
        .args(args)
        .output()
        .expect("otwitness runs");
    assert!(
        output.status.success(),
        "otwitness {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Whether the browser can be driven; skips (or fails on CI) with a reason when not.
fn have_browser() -> bool {
    support::have_tool("chromium", &["--version"])
        && support::have_tool("chromedriver", &["--version"])
        && support::have_tool("python3", &["-c", "import selenium"])
}

/// Opens `page` in Chromium; returns what `report_browser.py` found, and checks what every
/// page must satisfy: no console error, a screenshot whose size proves content.
fn browse(page: &Path, screenshot: &Path) -> Value {
    let script = repo("sensor/tests/report_browser.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(page)
        .arg(screenshot)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "report_browser.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found: Value = serde_json::from_slice(&output.stdout).expect("browser JSON");

    let errors: Vec<&Value> = found["console"]
        .as_array()
        .expect("console")
        .iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    let size = std::fs::metadata(screenshot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 100_000,
        "screenshot {} is {size} bytes: too small to hold the page",
        screenshot.display()
    );
    assert_eq!(found["injected"], serde_json::json!([false, 0]));
    found
}

/// The page references nothing outside itself: every link is an anchor, no tag has a `src`,
/// no tag loads another document, and there is no stylesheet import or `url()`. Tags are read
/// outside the inline style and script (whose code is ours); evidence text is escaped, so every
/// `<` left is a real tag.
fn assert_self_contained(html: &str) {
    assert!(
        !html.contains("@import") && !html.contains("url("),
        "stylesheet fetch"
    );
    let mut rest = html;
    let mut tags = 0;
    while let Some(start) = rest.find('<') {
        let tag_end = rest[start..]
            .find('>')
            .map_or(rest.len(), |e| start + e + 1);
        let tag = &rest[start..tag_end];
        let lower = tag.to_ascii_lowercase();
        tags += 1;
        for forbidden in [
            "<link", "<iframe", "<object", "<embed", "<base", "<img", "<frame",
        ] {
            assert!(!lower.starts_with(forbidden), "the page holds {tag}");
        }
        let mut names = String::new();
        let mut quoted = false;
        for c in lower.chars() {
            if c == '"' {
                quoted = !quoted;
            } else if !quoted {
                names.push(c);
            }
        }
        assert!(!names.contains(" src="), "a tag loads something: {tag}");
        for (at, _) in lower.match_indices("href=") {
            assert!(
                lower[at + 5..].starts_with("\"#"),
                "link outside the page: {tag}"
            );
        }
        rest = &rest[tag_end..];
        // Skip the bodies of the inline style and script: code, not markup.
        for (open, close) in [("<style", "</style>"), ("<script", "</script>")] {
            if lower.starts_with(open) {
                let end = rest.find(close).unwrap_or(rest.len());
                rest = &rest[end..];
            }
        }
    }
    assert!(tags > 100, "only {tags} tags: not a report");
    assert!(html.contains("Content-Security-Policy\" content=\"default-src &#39;none&#39;"));
}

/// Sum of a chart's series (from the browser's reading of the SVG).
fn chart_total(found: &Value, chart: &str) -> u64 {
    found["charts"][chart]
        .as_object()
        .unwrap_or_else(|| panic!("chart {chart} drew nothing: {found}"))
        .iter()
        .filter(|(name, _)| !name.starts_with('!'))
        .map(|(_, n)| n.as_u64().unwrap_or(0))
        .sum()
}

/// The number a summary card shows (thin-space digit groups removed).
fn card(found: &Value, key: &str) -> u64 {
    let text = found["cards"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no card {key}"));
    text.replace('\u{2009}', "")
        .parse()
        .unwrap_or_else(|_| panic!("card {key}: {text}"))
}

fn numbers(found: &Value, key: &str) -> Vec<u64> {
    found[key]
        .as_array()
        .expect(key)
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap_or("")
                .replace('\u{2009}', "")
                .parse()
                .unwrap_or(0)
        })
        .collect()
}

fn sha256sum(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn report_of_the_fixture_captures_in_chromium() {
    let scratch = Scratch::new("report-fixtures");
    let evidence = scratch.join("evidence");
    let config = scratch.join("config");

    // One evidence folder, one run (and manifest) per scenario with its own identity map.
    let mut truth_writes: Vec<Value> = Vec::new();
    let mut opaque = 0;
    let mut hashes = Vec::new();
    for name in FIXTURES {
        let dir = repo(&format!("fixtures-pcap/{name}"));
        let capture = dir.join("capture.pcap");
        otwitness(
            &[
                "analyze",
                "-q",
                "--identities",
                path_str(&dir.join("identities.toml")),
                "--delegations",
                path_str(&dir.join("delegations.toml")),
                "--out",
                path_str(&evidence),
                path_str(&capture),
            ],
            &config,
        );
        let truth: Value = serde_json::from_slice(&evidence_fixture::read(&dir.join("truth.json")))
            .expect("truth");
        truth_writes.extend(
            truth["writes"]
                .as_array()
                .expect("writes")
                .iter()
                .filter(|w| w["readable"] == true)
                .cloned(),
        );
        opaque += truth["opaque_sessions"].as_u64().expect("opaque_sessions");
        hashes.push(sha256sum(&capture));
    }
    let page = scratch.join("report.html");
    let said = otwitness(
        &["report", path_str(&evidence), "--out", path_str(&page)],
        &config,
    );

    let mut by_attribution: BTreeMap<String, u64> = BTreeMap::new();
    for w in &truth_writes {
        *by_attribution
            .entry(w["attribution"].as_str().unwrap_or("").to_owned())
            .or_default() += 1;
    }
    let attention = truth_writes
        .iter()
        .filter(|w| {
            w["attribution"] == "unattributed"
                || !matches!(
                    w["delegation_status"].as_str(),
                    Some("delegated" | "no_policy")
                )
        })
        .count() as u64;
    let total = truth_writes.len() as u64;
    assert!(
        said.contains(&format!("{total} writes, {attention} needing attention")),
        "{said}"
    );

    let html = String::from_utf8(evidence_fixture::read(&page)).expect("UTF-8 page");
    assert_self_contained(&html);
    for hash in &hashes {
        assert!(html.contains(hash.as_str()), "input hash {hash} missing");
    }

    if !have_browser() {
        return;
    }
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-fixtures.png");
    let found = browse(&page, &screenshot);
    eprintln!("screenshot: {}", screenshot.display());

    assert_eq!(found["verdict"], "Evidence verified");
    assert_eq!(card(&found, "scope/writes"), total);
    assert_eq!(card(&found, "scope/inputs"), FIXTURES.len() as u64);
    assert_eq!(card(&found, "scope/opaque sessions"), opaque);
    for attribution in Attribution::ALL {
        let name = attribution.as_str();
        let expected = by_attribution.get(name).copied().unwrap_or(0);
        assert_eq!(card(&found, &format!("who/{name}")), expected, "{name}");
        let drawn = found["charts"]["chart-attribution"][name]
            .as_u64()
            .unwrap_or(0);
        assert_eq!(drawn, expected, "chart bars of {name}");
    }
    assert_eq!(chart_total(&found, "chart-principal"), total);
    assert!(
        chart_total(&found, "chart-alerts") > 0,
        "alert chart drew nothing"
    );
    for chart in ["chart-principal", "chart-attribution", "chart-alerts"] {
        assert!(
            found["charts"][chart].get("!empty-bar").is_none(),
            "{chart} has bars of no size"
        );
    }
    assert_eq!(found["attention_rows"], attention);
    assert_eq!(found["filtered_visible"], by_attribution["unattributed"]);
    let mut hashes_shown: Vec<String> = found["input_hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| h.as_str().unwrap_or("").to_owned())
        .collect();
    hashes_shown.sort();
    hashes.sort();
    assert_eq!(hashes_shown, hashes);

    // Clicking "frame" sorts ascending, clicking again descending.
    let before = numbers(&found, "frames_before");
    let ascending = numbers(&found, "frames_ascending");
    let descending = numbers(&found, "frames_descending");
    let mut sorted = before.clone();
    sorted.sort_unstable();
    assert_ne!(
        before, sorted,
        "the table must start in another order for the test to mean much"
    );
    assert_eq!(ascending, sorted);
    sorted.reverse();
    assert_eq!(descending, sorted);
    assert_eq!(found["aria_sort"], "descending");
}

#[test]
fn hostile_evidence_text_is_escaped() {
    let scratch = Scratch::new("report-hostile");
    let evidence = scratch.join("evidence");
    let config = scratch.join("config");
    let script = "<script>window.__otw_pwned=true</script>";
    let image = "<img src=x onerror=\"window.__otw_pwned=true\">";

    let mut rows = evidence_fixture::sample_evidence();
    for write in &mut rows.writes {
        write.target = format!("DB1.{script}");
        write.identity = Some(image.to_owned());
        write.attribution = Attribution::Unattributed;
    }
    for alert in &mut rows.alerts {
        alert.detail = format!("tag {script}");
    }
    for credential in &mut rows.credentials {
        credential.subject = Some(format!("CN={image}"));
    }
    let run = evidence_fixture::sample_run(evidence_fixture::sample_inputs());
    sensor::evidence::write_evidence(&evidence, &run, &evidence_fixture::sources(), &rows)
        .expect("evidence written");

    let page = scratch.join("report.html");
    otwitness(
        &["report", path_str(&evidence), "--out", path_str(&page)],
        &config,
    );
    let html = String::from_utf8(evidence_fixture::read(&page)).expect("UTF-8 page");

    assert!(
        !html.contains("__otw_pwned=true</script>"),
        "raw script in the page"
    );
    assert!(!html.contains("<img"), "raw image tag in the page");
    assert!(html.contains("DB1.&lt;script&gt;window.__otw_pwned=true&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=&quot;window.__otw_pwned=true&quot;&gt;"));
    assert_self_contained(&html);

    if !have_browser() {
        return;
    }
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-hostile.png");
    let found = browse(&page, &screenshot);
    assert_eq!(found["attention_rows"], rows.writes.len());
}

#[test]
fn report_of_the_shared_captures_in_chromium() {
    let Some(pcaps) = support::shared_pcaps() else {
        return;
    };
    let truth = support::ground_truth(&pcaps);
    let scratch = Scratch::new("report-shared");
    let evidence = scratch.join("evidence");
    let config = scratch.join("config");

    let entries: Vec<&Value> = truth["files"].as_array().expect("files").iter().collect();
    let captures: Vec<PathBuf> = entries
        .iter()
        .map(|e| support::entry_path(&pcaps, e))
        .collect();
    let mut args = vec!["analyze", "-q", "--out", path_str(&evidence)];
    args.extend(captures.iter().map(|p| path_str(p)));
    otwitness(&args, &config);
    let page = scratch.join("report.html");
    otwitness(
        &["report", path_str(&evidence), "--out", path_str(&page)],
        &config,
    );
    let html = String::from_utf8(evidence_fixture::read(&page)).expect("UTF-8 page");
    assert_self_contained(&html);
    for entry in &entries {
        let hash = entry["sha256"].as_str().expect("sha256");
        assert!(
            html.contains(hash),
            "input hash {hash} of {} missing",
            entry["file"]
        );
    }

    if !have_browser() || !support::have_tool("python3", &["-c", "import duckdb"]) {
        return;
    }
    let query = format!(
        "import duckdb; print(duckdb.sql(\"SELECT count(*) FROM \
         read_parquet('{}/writes/**/*.parquet')\").fetchall()[0][0])",
        evidence.display()
    );
    let output = Command::new("python3")
        .args(["-c", &query])
        .output()
        .expect("duckdb");
    let writes: u64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("DuckDB: {}", String::from_utf8_lossy(&output.stderr)));
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-shared.png");
    let found = browse(&page, &screenshot);

    assert_eq!(found["verdict"], "Evidence verified");
    assert_eq!(card(&found, "scope/writes"), writes);
    assert_eq!(card(&found, "scope/inputs"), entries.len() as u64);
    assert_eq!(chart_total(&found, "chart-principal"), writes);
    assert_eq!(chart_total(&found, "chart-attribution"), writes);
}

#[test]
fn a_folder_without_evidence_is_one_clear_line() {
    let scratch = Scratch::new("report-empty");
    let page = scratch.join("report.html");

    let output = Command::new(env!("CARGO_BIN_EXE_otwitness"))
        .env("XDG_CONFIG_HOME", scratch.join("config"))
        .args(["report", path_str(&scratch.path), "--out", path_str(&page)])
        .output()
        .expect("otwitness runs");

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds no evidence"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!page.exists(), "no page for a folder without evidence");
}
