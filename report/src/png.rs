//! SVG to PNG with resvg, text drawn in a font embedded in the binary, so that PNGs look the same
//! on every machine, with or without fonts installed.

use std::fs;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Color, Pixmap, Transform};
use resvg::usvg::{self, fontdb};

use crate::ReportError;
use crate::error::MEMORY;

/// PNGs are drawn at twice the SVG's size, crisp on high-density screens and in print.
pub const PNG_SCALE: f32 = 2.0;

/// The font database: the embedded sans-serif font only, set as the generic `sans-serif` (what
/// plotters writes), as every other generic family, and so as the fallback for any named one.
fn fonts() -> &'static (Arc<fontdb::Database>, String) {
    static FONTS: OnceLock<(Arc<fontdb::Database>, String)> = OnceLock::new();
    FONTS.get_or_init(|| {
        let mut db = fontdb::Database::new();
        db.load_font_data(epaint_default_fonts::UBUNTU_LIGHT.to_vec());
        // The family name as the font itself spells it; "Ubuntu" if it cannot be read.
        let family = db
            .faces()
            .next()
            .and_then(|face| face.families.first())
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| "Ubuntu".to_string());
        // usvg falls back to the generic serif family for a family it cannot find: every
        // generic family is the embedded font, so no text is ever dropped.
        db.set_sans_serif_family(family.clone());
        db.set_serif_family(family.clone());
        db.set_monospace_family(family.clone());
        db.set_cursive_family(family.clone());
        db.set_fantasy_family(family.clone());
        (Arc::new(db), family)
    })
}

/// Rasterises `svg` at [`PNG_SCALE`] times its size on a white background and returns the PNG
/// file's bytes. Text is drawn in the embedded font (Ubuntu Light): no system font is read.
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>, ReportError> {
    let (db, family) = fonts();
    let options = usvg::Options {
        font_family: family.clone(),
        fontdb: Arc::clone(db),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options)?;
    let size = tree.size().to_int_size().scale_by(PNG_SCALE);
    let mut pixmap = size
        .and_then(|s| Pixmap::new(s.width(), s.height()))
        .ok_or_else(|| ReportError::Svg {
            figure: MEMORY.to_string(),
            message: format!(
                "the image is {}x{} and cannot be drawn",
                tree.size().width(),
                tree.size().height()
            ),
        })?;
    pixmap.fill(Color::WHITE);
    resvg::render(
        &tree,
        Transform::from_scale(PNG_SCALE, PNG_SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| ReportError::Svg {
        figure: MEMORY.to_string(),
        message: format!("cannot encode the PNG: {e}"),
    })
}

/// Renders `dir/svg_name` to a PNG beside it (same stem, `.png`), for reports that draw only SVG;
/// returns the PNG's file name.
pub fn write_png_beside(dir: &Path, svg_name: &str) -> Result<String, ReportError> {
    let path = dir.join(svg_name);
    let svg = fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?;
    let png = svg_to_png(&svg).map_err(|e| e.in_figure(&path.display().to_string()))?;
    let stem = Path::new(svg_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| svg_name.to_string());
    let name = match Path::new(svg_name).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent
            .join(format!("{stem}.png"))
            .to_string_lossy()
            .into_owned(),
        _ => format!("{stem}.png"),
    };
    let out = dir.join(&name);
    fs::write(&out, png).map_err(|e| ReportError::io(&out, e))?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pixels of `png` that are not white.
    fn inked(png: &[u8]) -> (Pixmap, usize) {
        let pixmap = Pixmap::decode_png(png).expect("a PNG");
        let inked = pixmap
            .pixels()
            .iter()
            .filter(|p| (p.red(), p.green(), p.blue()) != (255, 255, 255))
            .count();
        (pixmap, inked)
    }

    fn text_only(family: &str) -> String {
        format!(
            r##"<svg width="200" height="60" viewBox="0 0 200 60" xmlns="http://www.w3.org/2000/svg"><text x="10" y="40" font-family="{family}" font-size="24" fill="#000000">rung 0.42</text></svg>"##
        )
    }

    #[test]
    fn text_is_drawn_in_the_embedded_font() {
        let (pixmap, drawn) = inked(&svg_to_png(&text_only("sans-serif")).expect("rendered"));
        assert_eq!(
            (pixmap.width(), pixmap.height()),
            (400, 120),
            "twice the size"
        );
        // Without a font, resvg silently drops the text and the image stays white.
        assert!(
            drawn > 500,
            "only {drawn} pixels inked: the text was not drawn"
        );

        // A family that is not installed falls back to the embedded font too.
        let (_, fallback) = inked(&svg_to_png(&text_only("Helvetica")).expect("rendered"));
        assert!(fallback > 500, "only {fallback} pixels inked");
    }

    #[test]
    fn a_plotters_figure_renders_with_its_labels() {
        let svg = crate::style::draw_svg("test.svg", (300, 200), |root| {
            root.draw(&plotters::prelude::Text::new(
                "accuracy",
                (20, 80),
                (crate::style::FONT, 30),
            ))?;
            Ok(())
        })
        .expect("drawn");
        let (pixmap, drawn) = inked(&svg_to_png(&svg).expect("rendered"));
        assert_eq!((pixmap.width(), pixmap.height()), (600, 400));
        assert!(drawn > 500, "only {drawn} pixels inked");
    }

    #[test]
    fn bad_svg_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        fs::write(dir.path().join("broken.svg"), "<svg").expect("written");
        let error = write_png_beside(dir.path(), "broken.svg").expect_err("not an SVG");
        assert!(error.to_string().contains("broken.svg"), "{error}");

        fs::write(dir.path().join("figure.svg"), text_only("sans-serif")).expect("written");
        assert_eq!(
            write_png_beside(dir.path(), "figure.svg").expect("rendered"),
            "figure.png"
        );
        let png = fs::read(dir.path().join("figure.png")).expect("written");
        assert!(inked(&png).1 > 500);
    }
}
