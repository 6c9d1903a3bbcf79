//! Slugs for branch names and file names.

/// Lowercase ASCII letters and digits, words joined by single `-`, at most `limit` characters,
/// cut at a word boundary when possible (a first word longer than `limit` is cut).
pub fn slug(text: &str, limit: usize) -> String {
    let mut slug = String::new();
    for word in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
    {
        let word = word.to_ascii_lowercase();
        let separator = usize::from(!slug.is_empty());
        if slug.len() + separator + word.len() > limit {
            if slug.is_empty() {
                slug.push_str(&word[..limit.min(word.len())]);
            }
            break;
        }
        if separator == 1 {
            slug.push('-');
        }
        slug.push_str(&word);
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_hyphenated_and_bounded() {
        assert_eq!(
            slug("Add a Favorites list endpoint!", 40),
            "add-a-favorites-list-endpoint"
        );
        assert_eq!(
            slug("  --Fix   `auth.py`: token_refresh  ", 40),
            "fix-auth-py-token-refresh"
        );
        assert_eq!(slug("Ünïcode façade", 40), "n-code-fa-ade");
        assert_eq!(slug("", 40), "");
        assert_eq!(slug("one two three", 7), "one-two");
        assert_eq!(slug("supercalifragilistic", 5), "super");
        assert_eq!(
            slug("Add a Favorites list (v2)!", 60),
            "add-a-favorites-list-v2"
        );
        assert_eq!(slug("  ", 10), "");
        assert_eq!(slug(&"x".repeat(60), 40).len(), 40);
    }
}
