//! Which file formats a report writes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ReportError;

/// Which of a report's file formats to write. Figures are drawn as SVG; PNG is rasterised from
/// that SVG (so `png` works without `svg`); tables go to CSV; data and summaries to JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Formats {
    /// Figures as SVG.
    pub svg: bool,
    /// Figures as PNG, rendered at twice the SVG's size.
    pub png: bool,
    /// Tables as CSV.
    pub csv: bool,
    /// Data as JSON.
    pub json: bool,
}

impl Formats {
    /// Every format.
    pub const ALL: Self = Self {
        svg: true,
        png: true,
        csv: true,
        json: true,
    };

    /// The names a format can be given.
    pub const NAMES: [&'static str; 4] = ["svg", "png", "csv", "json"];

    /// The formats named in `names` ("svg", "png", "csv", "json"; case-insensitive); an unknown
    /// name is an error that lists the known ones.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, ReportError> {
        let mut formats = Self {
            svg: false,
            png: false,
            csv: false,
            json: false,
        };
        for name in names {
            let name = name.as_ref().trim();
            match name.to_ascii_lowercase().as_str() {
                "svg" => formats.svg = true,
                "png" => formats.png = true,
                "csv" => formats.csv = true,
                "json" => formats.json = true,
                _ => {
                    return Err(ReportError::invalid(format!(
                        "unknown report format `{name}`; the formats are {}",
                        Self::NAMES.join(", ")
                    )));
                }
            }
        }
        Ok(formats)
    }

    /// The names of the formats chosen, in the order of [`Formats::NAMES`].
    pub fn names(&self) -> Vec<&'static str> {
        let chosen = [self.svg, self.png, self.csv, self.json];
        Self::NAMES
            .iter()
            .zip(chosen)
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect()
    }

    /// Whether a figure is needed at all (as SVG or PNG).
    pub fn figures(&self) -> bool {
        self.svg || self.png
    }
}

impl Default for Formats {
    fn default() -> Self {
        Self::ALL
    }
}

impl FromStr for Formats {
    type Err = ReportError;

    /// Comma-separated names, e.g. `"svg,png"`.
    fn from_str(names: &str) -> Result<Self, Self::Err> {
        let names: Vec<&str> = names.split(',').filter(|n| !n.trim().is_empty()).collect();
        Self::parse(&names)
    }
}

impl fmt::Display for Formats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        let formats: Formats = "png, JSON".parse().expect("known names");
        assert_eq!(
            formats,
            Formats {
                svg: false,
                png: true,
                csv: false,
                json: true
            }
        );
        assert_eq!(formats.to_string(), "png,json");
        assert_eq!(Formats::parse(&Formats::NAMES).expect("all"), Formats::ALL);
        let error = Formats::parse(&["svg", "pdf"]).expect_err("pdf is unknown");
        assert!(error.to_string().contains("`pdf`"), "{error}");
        assert!(error.to_string().contains("svg, png, csv, json"), "{error}");
    }
}
