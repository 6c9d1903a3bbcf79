//! Prompt templates: Markdown files in the source tree with `{{name}}` placeholders. Rendering
//! checks that every placeholder was given a value, so a renamed variable cannot silently send
//! `{{spec}}` to a model.

/// Fill `{{name}}` placeholders from `values`. Errors name every placeholder left unfilled.
pub fn render(template: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let mut output = String::with_capacity(template.len());
    let mut missing = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        output.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            output.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = after[..end].trim();
        // Only identifiers are placeholders: GitHub expressions such as `${{ vars.NAME }}` in a
        // prompt's text stay as they are.
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            output.push_str(&rest[start..start + 2]);
            rest = after;
            continue;
        }
        match values.iter().find(|(key, _)| *key == name) {
            Some((_, value)) => output.push_str(value),
            None => {
                missing.push(name.to_owned());
                output.push_str(&rest[start..start + 2 + end + 2]);
            }
        }
        rest = &after[end + 2..];
    }
    output.push_str(rest);
    if missing.is_empty() {
        Ok(output)
    } else {
        missing.sort();
        missing.dedup();
        Err(format!(
            "prompt placeholders without a value: {}",
            missing.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn fills_placeholders_and_keeps_other_braces() {
        let text = render(
            "a {{x}} b {{ y }} {not} {{x}}",
            &[("x", "1"), ("y", "{{z}}")],
        )
        .unwrap();
        assert_eq!(text, "a 1 b {{z}} {not} 1");
    }

    #[test]
    fn github_expressions_are_not_placeholders() {
        assert_eq!(
            render("${{ vars.REGION }} {{x}}", &[("x", "1")]).unwrap(),
            "${{ vars.REGION }} 1"
        );
    }

    #[test]
    fn names_missing_placeholders() {
        assert_eq!(
            render("{{a}} {{b}} {{a}}", &[]).unwrap_err(),
            "prompt placeholders without a value: a, b"
        );
    }

    #[test]
    fn every_shipped_prompt_renders_with_its_variables() {
        let monty: &[(&str, &[&str])] = &[
            (
                include_str!("monty/prompts/system.md"),
                &["display_name", "language"],
            ),
            (
                include_str!("monty/prompts/suggest_fix.md"),
                &["source", "max_suggestions", "failures"],
            ),
            (
                include_str!("monty/prompts/assist.md"),
                &["source", "assignment", "exec_hint"],
            ),
            (
                include_str!("monty/prompts/review.md"),
                &["language", "source", "focus", "diff"],
            ),
            (
                include_str!("monty/prompts/write_tests.md"),
                &["target", "source", "framework", "conventions", "exec_hint"],
            ),
            (
                include_str!("monty/prompts/build.md"),
                &["source", "command", "attempts"],
            ),
            (
                include_str!("monty/prompts/upgrade.md"),
                &["target", "source", "mode"],
            ),
            (
                include_str!("monty/prompts/route.md"),
                &[
                    "display_name",
                    "language",
                    "frameworks",
                    "upgrade_params",
                    "number",
                    "title",
                    "body",
                ],
            ),
            (include_str!("speck/prompts/system.md"), &[]),
            (include_str!("daggie/prompts/system.md"), &[]),
            (
                include_str!("daggie/prompts/assist.md"),
                &["assignment", "project", "catalog"],
            ),
            (
                include_str!("daggie/prompts/explain.md"),
                &["question", "setup", "catalog"],
            ),
            (include_str!("daggie/prompts/debug.md"), &["error", "setup"]),
            (
                include_str!("daggie/prompts/review.md"),
                &["focus", "diff", "setup"],
            ),
            (include_str!("speck/prompts/specify.md"), &["request"]),
            (
                include_str!("speck/prompts/plan.md"),
                &["tech_stack", "spec"],
            ),
            (
                include_str!("speck/prompts/decompose.md"),
                &["tests_rule", "review_rule", "agents", "spec", "plan"],
            ),
        ];
        for (template, names) in monty {
            let values: Vec<(&str, &str)> = names.iter().map(|name| (*name, "value")).collect();
            let rendered =
                render(template, &values).unwrap_or_else(|error| panic!("{error} in:\n{template}"));
            assert_eq!(
                render(&rendered, &[]),
                Ok(rendered.clone()),
                "a placeholder is left"
            );
        }
    }
}
