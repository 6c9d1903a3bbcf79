//! Command lines without a shell: splitting one into words the way a POSIX shell does (quotes
//! and backslashes, no expansion, shell operators refused), quoting a word back for display, and
//! checking the words against an allow-list.

/// Why a command line could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("unterminated quote in the command")]
    Unterminated,
    #[error("the command ends with a backslash")]
    TrailingBackslash,
    #[error("`{0}` is shell syntax, and no shell runs the command: run one plain command")]
    ShellOperator(String),
}

/// Split `text` into words: single quotes keep everything, double quotes keep everything but
/// `\"`, `\\`, `\$` and `` \` `` escapes, an unquoted backslash escapes the next character.
/// Unquoted shell operators (`|`, `;`, `&`, `>`, `<`, `` ` ``, `$(`, a newline) are refused,
/// since no shell interprets them. An empty line gives no words.
pub fn split_words(text: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\'' => {
                in_word = true;
                loop {
                    match characters.next() {
                        Some('\'') => break,
                        Some(inner) => current.push(inner),
                        None => return Err(SplitError::Unterminated),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match characters.next() {
                        Some('"') => break,
                        Some('\\') => match characters.next() {
                            Some(escaped @ ('"' | '\\' | '$' | '`')) => current.push(escaped),
                            Some(other) => {
                                current.push('\\');
                                current.push(other);
                            }
                            None => return Err(SplitError::Unterminated),
                        },
                        Some(inner) => current.push(inner),
                        None => return Err(SplitError::Unterminated),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match characters.next() {
                    Some(escaped) => current.push(escaped),
                    None => return Err(SplitError::TrailingBackslash),
                }
            }
            '|' | ';' | '&' | '>' | '<' | '`' | '\n' => {
                return Err(SplitError::ShellOperator(character.to_string()));
            }
            '$' if characters.peek() == Some(&'(') => {
                return Err(SplitError::ShellOperator("$(".to_owned()));
            }
            whitespace if whitespace.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            other => {
                in_word = true;
                current.push(other);
            }
        }
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

/// `word` as a POSIX shell reads it back, for a command shown to a person: bare when it is
/// plain, else in single quotes. [`split_words`] turns it back into the same word.
pub fn quote_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Is the command one of the allow-list's entries: its first words are exactly the words of
/// one entry (`npm run` allows `npm run test`, not `npm install` nor `npm runx`)?
pub fn command_allowed(words: &[String], allowed: &[String]) -> bool {
    allowed.iter().any(|entry| {
        let prefix: Vec<&str> = entry.split_whitespace().collect();
        !prefix.is_empty()
            && words.len() >= prefix.len()
            && prefix.iter().zip(words).all(|(want, have)| want == have)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_word_splits_back_to_itself() {
        assert_eq!(quote_word("--source"), "--source");
        assert_eq!(quote_word("it's here"), r"'it'\''s here'");
        assert_eq!(quote_word(""), "''");
        for word in [
            "plain",
            "a b",
            "it's",
            "$HOME",
            "x;y",
            "tests/a.py::t[1 2]",
            "",
        ] {
            assert_eq!(split_words(&quote_word(word)).unwrap(), [word], "{word}");
        }
    }

    #[test]
    fn commands_split_like_a_shell_without_its_operators() {
        assert_eq!(
            split_words("python -m pytest -k 'a b' \"c\\\"d\" e\\ f").unwrap(),
            ["python", "-m", "pytest", "-k", "a b", "c\"d", "e f"]
        );
        assert_eq!(split_words("a 'x|y' \"p;q\"").unwrap(), ["a", "x|y", "p;q"]);
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        for operator in [
            "pytest | tee x",
            "pytest && rm -rf /",
            "a; b",
            "a > b",
            "echo $(whoami)",
            "a\nb",
        ] {
            assert!(
                matches!(split_words(operator), Err(SplitError::ShellOperator(_))),
                "{operator}"
            );
        }
        assert_eq!(split_words("echo 'open"), Err(SplitError::Unterminated));
        assert_eq!(split_words("echo \"open"), Err(SplitError::Unterminated));
        assert_eq!(split_words("echo \\"), Err(SplitError::TrailingBackslash));
    }

    #[test]
    fn the_allow_list_matches_whole_leading_words() {
        let allowed = vec!["npm run".to_owned(), "pytest".to_owned(), " ".to_owned()];
        let words = |text: &str| split_words(text).unwrap();
        assert!(command_allowed(&words("npm run lint"), &allowed));
        assert!(command_allowed(
            &words("pytest -q 'tests/a b.py'"),
            &allowed
        ));
        assert!(!command_allowed(&words("npm install evil"), &allowed));
        assert!(!command_allowed(&words("npm"), &allowed));
        assert!(!command_allowed(&words("pytestx"), &allowed));
        assert!(!command_allowed(&words("rm -rf ."), &allowed));
    }
}
