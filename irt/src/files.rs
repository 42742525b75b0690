//! The on-disk forms of matrices, fits and bins: what the `responses`, `irt` and bins nodes write,
//! what `rung irt fit` writes, and what downstream nodes read back.
//!
//! - a response matrix: `matrix.json` (ids) and `cells.u8` (row-major cells, one byte each), which
//!   reads back exactly and fast;
//! - a fit: `fit.json` (everything), `items.csv` (one row per item) and `abilities.csv`;
//! - bins: `bins.json` (everything) and `bins.csv` (one row per item).

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bins::Bins;
use crate::fit::Fit;
use crate::matrix::ResponseMatrix;

/// The header of `items.csv`.
pub const ITEMS_HEADER: &str =
    "item,difficulty,difficulty_se,discrimination,discrimination_se,n,p_correct,infit,outfit,flag";

#[derive(Serialize, Deserialize)]
struct MatrixIds {
    subjects: Vec<String>,
    items: Vec<String>,
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {why}", path.display()),
    )
}

/// Writes `matrix` into directory `dir`.
pub fn save_matrix(matrix: &ResponseMatrix, dir: &Path) -> io::Result<()> {
    let ids = MatrixIds {
        subjects: matrix.subjects().to_vec(),
        items: matrix.items().to_vec(),
    };
    fs::write(dir.join("matrix.json"), serde_json::to_vec(&ids)?)?;
    fs::write(dir.join("cells.u8"), matrix.cells())
}

/// Reads a matrix written by [`save_matrix`].
pub fn open_matrix(dir: &Path) -> io::Result<ResponseMatrix> {
    let path = dir.join("matrix.json");
    let ids: MatrixIds =
        serde_json::from_slice(&fs::read(&path)?).map_err(|e| invalid(&path, e))?;
    let cells = fs::read(dir.join("cells.u8"))?;
    ResponseMatrix::new(ids.subjects, ids.items, cells).map_err(|e| invalid(dir, e))
}

/// Writes `fit` into directory `dir`: `fit.json`, `items.csv` and `abilities.csv`.
pub fn save_fit(fit: &Fit, dir: &Path) -> io::Result<()> {
    fs::write(dir.join("fit.json"), serde_json::to_vec_pretty(fit)?)?;
    write_items_csv(fit, fs::File::create(dir.join("items.csv"))?)?;
    write_abilities_csv(fit, fs::File::create(dir.join("abilities.csv"))?)
}

/// Reads the fit written by [`save_fit`].
pub fn open_fit(dir: &Path) -> io::Result<Fit> {
    let path = dir.join("fit.json");
    serde_json::from_slice(&fs::read(&path)?).map_err(|e| invalid(&path, e))
}

/// One row per item: [`ITEMS_HEADER`]; an empty `discrimination_se` means the model fixes it,
/// and `flag` names items whose estimate rests on the prior.
pub fn write_items_csv(fit: &Fit, out: impl Write) -> io::Result<()> {
    let mut out = BufWriter::new(out);
    writeln!(out, "{ITEMS_HEADER}")?;
    for item in &fit.items {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            csv_field(&item.id),
            item.difficulty,
            item.difficulty_se,
            item.discrimination,
            item.discrimination_se
                .map(|se| se.to_string())
                .unwrap_or_default(),
            item.n,
            item.p_correct,
            item.infit,
            item.outfit,
            item.flag.map(|f| f.name()).unwrap_or_default(),
        )?;
    }
    out.flush()
}

/// One row per subject: `subject,ability,ability_se,n,p_correct`.
pub fn write_abilities_csv(fit: &Fit, out: impl Write) -> io::Result<()> {
    let mut out = BufWriter::new(out);
    writeln!(out, "subject,ability,ability_se,n,p_correct")?;
    for subject in &fit.abilities {
        writeln!(
            out,
            "{},{},{},{},{}",
            csv_field(&subject.id),
            subject.ability,
            subject.se,
            subject.n,
            subject.p_correct
        )?;
    }
    out.flush()
}

/// Writes `bins` into directory `dir`: `bins.json` and `bins.csv` (`item,bin,difficulty,part`).
pub fn save_bins(bins: &Bins, dir: &Path) -> io::Result<()> {
    fs::write(dir.join("bins.json"), serde_json::to_vec_pretty(bins)?)?;
    let mut out = BufWriter::new(fs::File::create(dir.join("bins.csv"))?);
    writeln!(out, "item,bin,difficulty,part")?;
    for a in &bins.items {
        writeln!(
            out,
            "{},{},{},{}",
            csv_field(&a.item),
            a.bin,
            a.difficulty,
            a.part.name()
        )?;
    }
    out.flush()
}

/// Reads the bins written by [`save_bins`].
pub fn open_bins(dir: &Path) -> io::Result<Bins> {
    let path = dir.join("bins.json");
    serde_json::from_slice(&fs::read(&path)?).map_err(|e| invalid(&path, e))
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::MISSING;

    #[test]
    fn matrices_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let matrix = ResponseMatrix::new(
            vec!["m,1".into(), "m2".into()],
            vec!["a".into(), "b".into()],
            vec![1, MISSING, 0, 1],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        save_matrix(&matrix, dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(open_matrix(dir.path()).ok(), Some(matrix));
        fs::write(dir.path().join("cells.u8"), [1, 0, 7, 1]).unwrap_or_else(|e| panic!("{e}"));
        let error = open_matrix(dir.path()).map(|_| ()).unwrap_err().to_string();
        assert!(error.contains("holds 7"), "{error}");
    }

    #[test]
    fn fields_with_commas_are_quoted() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("x\"y,"), "\"x\"\"y,\"");
    }
}
