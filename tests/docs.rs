//! The docs stay true: the language reference lists exactly the diagnostic codes the checker has.

#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn language_reference_lists_every_diagnostic_code() {
    let text =
        std::fs::read_to_string(common::root().join("docs/language.md")).expect("docs exist");
    let listed: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let code = cells.get(1)?;
            let is_code = code.len() == 5 && (code.starts_with('E') || code.starts_with('W'));
            is_code.then(|| (code.to_string(), cells.get(2).unwrap_or(&"").to_string()))
        })
        .collect();
    let actual: Vec<(String, String)> = rung_lang::Code::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), c.summary().to_string()))
        .collect();
    assert_eq!(
        listed, actual,
        "update the table at the end of docs/language.md"
    );
}
