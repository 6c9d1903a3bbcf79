//! Dagger's name conversions, predicted statically: the main object's name (`strcase.ToCamel`), API
//! names (`strcase.ToLowerCamel`) and CLI names (`strcase.ToKebab` of the API name), following
//! `github.com/iancoleman/strcase` v0.3.0 byte for byte (ASCII only, as it is).

/// `strcase.ToCamel`: the main object's name for a module name (`hello-with-checks` →
/// `HelloWithChecks`, `my_mod.v2` → `MyModV2`).
pub fn pascal_case(text: &str) -> String {
    camel_case(text, true)
}

/// `strcase.ToLowerCamel`: the GraphQL name of a function or argument (`passing_check` →
/// `passingCheck`, `PassingCheck` → `passingCheck`).
pub fn lower_camel_case(text: &str) -> String {
    camel_case(text, false)
}

/// `strcase.ToKebab`.
pub fn kebab_case(text: &str) -> String {
    let text = text.trim().as_bytes();
    let mut out = String::with_capacity(text.len() + 2);
    for (index, &original) in text.iter().enumerate() {
        let is_upper = original.is_ascii_uppercase();
        let is_lower = original.is_ascii_lowercase();
        let is_digit = original.is_ascii_digit();
        let byte = original.to_ascii_lowercase();
        if let Some(&next) = text.get(index + 1) {
            let next_upper = next.is_ascii_uppercase();
            let next_lower = next.is_ascii_lowercase();
            let next_digit = next.is_ascii_digit();
            // A delimiter goes where the kind of character changes; an upper-case letter that
            // starts a lower-case run after other capitals starts a new word (`JSONData` →
            // `json-data`).
            if (is_upper && (next_lower || next_digit))
                || (is_lower && (next_upper || next_digit))
                || (is_digit && (next_upper || next_lower))
            {
                if is_upper && next_lower && index > 0 && text[index - 1].is_ascii_uppercase() {
                    out.push('-');
                }
                out.push(byte as char);
                if is_lower || is_digit || next_digit {
                    out.push('-');
                }
                continue;
            }
        }
        if matches!(byte, b' ' | b'_' | b'-' | b'.') {
            out.push('-');
        } else {
            out.push(byte as char);
        }
    }
    out
}

/// The name the Dagger CLI shows for a function or argument written `name` in an SDK: the SDKs
/// strip one trailing underscore used to dodge reserved words (`from_` → `from`), the engine
/// lower-camel-cases it, and the CLI kebab-cases that.
pub fn cli_name(name: &str) -> String {
    kebab_case(&lower_camel_case(strip_reserved_suffix(name)))
}

/// Python's `from_`, `type_`: the SDK drops the trailing underscore.
pub fn strip_reserved_suffix(name: &str) -> &str {
    match name.strip_suffix('_') {
        Some(stripped) if !stripped.ends_with('_') && !stripped.starts_with('_') => stripped,
        _ => name,
    }
}

/// Words the Dagger engine registers with `strcase.ConfigureAcronym` (`core/json.go`,
/// `core/llm.go`): a name that is exactly one of them keeps its later capitals.
const ENGINE_ACRONYMS: [&str; 2] = ["JSON", "LLM"];

fn camel_case(text: &str, upper_first: bool) -> String {
    let text = text.trim();
    let acronym = ENGINE_ACRONYMS.contains(&text);
    let mut out = String::with_capacity(text.len());
    let mut capitalise_next = upper_first;
    let mut previous_upper = false;
    for (index, &original) in text.as_bytes().iter().enumerate() {
        let is_upper = original.is_ascii_uppercase();
        let is_lower = original.is_ascii_lowercase();
        let mut byte = original;
        if capitalise_next {
            byte = byte.to_ascii_uppercase();
        } else if index == 0 {
            byte = byte.to_ascii_lowercase();
        } else if previous_upper && is_upper && !acronym {
            // A run of capitals is one word: `API` → `api`, `HTTPGet` → `httpget`.
            byte = byte.to_ascii_lowercase();
        }
        previous_upper = is_upper;
        if is_upper || is_lower {
            out.push(byte as char);
            capitalise_next = false;
        } else if byte.is_ascii_digit() {
            out.push(byte as char);
            capitalise_next = true;
        } else {
            capitalise_next = matches!(byte, b'_' | b' ' | b'-' | b'.');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_case_follows_strcase() {
        assert_eq!(pascal_case("hello-with-checks"), "HelloWithChecks");
        assert_eq!(pascal_case("my_mod.v2"), "MyModV2");
        assert_eq!(pascal_case("acme-backend"), "AcmeBackend");
        assert_eq!(pascal_case("python-build"), "PythonBuild");
        assert_eq!(pascal_case("gcp2go"), "Gcp2Go");
        assert_eq!(pascal_case("HTTPServer"), "Httpserver");
        assert_eq!(pascal_case("a+b"), "Ab");
        assert_eq!(pascal_case(""), "");
    }

    #[test]
    fn lower_camel_case_follows_strcase() {
        assert_eq!(lower_camel_case("passing_check"), "passingCheck");
        assert_eq!(lower_camel_case("PassingCheck"), "passingCheck");
        assert_eq!(lower_camel_case("cloud_run"), "cloudRun");
    }

    #[test]
    fn kebab_case_follows_strcase() {
        assert_eq!(kebab_case("passingCheck"), "passing-check");
        assert_eq!(kebab_case("JSONData"), "json-data");
        assert_eq!(kebab_case("cloudRun"), "cloud-run");
        assert_eq!(kebab_case("test2"), "test-2");
        assert_eq!(kebab_case("lint"), "lint");
    }

    #[test]
    fn cli_names_match_the_dagger_cli() {
        assert_eq!(cli_name("passing_check"), "passing-check");
        assert_eq!(cli_name("PassingCheck"), "passing-check");
        assert_eq!(cli_name("from_"), "from");
        assert_eq!(cli_name("scanSource"), "scan-source");
        assert_eq!(cli_name("oidc_request_token"), "oidc-request-token");
        // Acronyms: strcase v0.3.0 lower-cases every capital that follows a capital, so
        // `HTTPGet` is one word; the engine's own acronyms (`JSON`, `LLM`) keep theirs.
        for (name, cli) in [
            ("API", "api"),
            ("HTTPGet", "httpget"),
            ("ID", "id"),
            ("SBOM", "sbom"),
            ("URLs", "urls"),
            ("getURL", "get-url"),
            ("buildSBOMReport", "build-sbomreport"),
            ("JSON", "j-son"),
            ("withLLM", "with-llm"),
        ] {
            assert_eq!(cli_name(name), cli, "{name}");
        }
    }
}
