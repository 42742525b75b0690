//! "Did you mean" suggestions for misspelt names.

/// The candidate closest to `name`, if one is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(distance, c)| {
            let longest = name.chars().count().max(c.chars().count());
            *distance <= (longest / 3).max(1)
        })
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// A "did you mean" hint, if some candidate is close.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("lrr", ["lr", "epochs", "seed"]), Some("lr"));
        assert_eq!(
            closest("quantile_bin", ["quantile_bins", "edge_bins"]),
            Some("quantile_bins")
        );
        assert_eq!(closest("xyz", ["lr", "epochs"]), None);
        assert_eq!(closest("lr", ["lr"]), None);
    }
}
