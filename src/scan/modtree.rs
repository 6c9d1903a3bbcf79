//! The checks and generators `dagger check` / `dagger generate` find below the main object: the
//! engine walks from the main object into every function that needs no argument and returns
//! another object of the module (`core/modtree.go`), so a check `Unit` on the object that
//! `python312()` returns runs as `python-312:unit`. Predicted here from the extracted objects.

use std::collections::BTreeMap;

use super::model::Function;

/// How deep the walk goes below the main object; real modules nest two or three levels.
const MAX_DEPTH: usize = 8;

/// How many functions the walk looks at in all: objects that return each other through many
/// functions make the number of paths grow as a power of the depth.
const MAX_VISITS: usize = 20_000;

/// The module's other object types, by the name their functions return them as.
pub type Objects = BTreeMap<String, Vec<Function>>;

/// What the walk found: check and generator paths (cli names joined with `:`), and the nested
/// checks it had to pass over because they need an argument.
#[derive(Debug, Default, PartialEq)]
pub struct Nested {
    pub checks: Vec<String>,
    pub generators: Vec<String>,
    /// `(path, required arguments)` of nested checks the engine drops.
    pub skipped_checks: Vec<(String, Vec<String>)>,
    /// The walk stopped at [`MAX_VISITS`]: some nested checks may be missing.
    pub truncated: bool,
    visits: usize,
}

/// Walk the objects reachable from `main` (whose own checks the caller already has) and collect
/// the nested checks and generators, in walk order.
pub fn nested(main_object: &str, main: &[Function], objects: &Objects) -> Nested {
    let mut found = Nested::default();
    if objects.is_empty() {
        return found;
    }
    let mut path = Vec::new();
    let mut visiting = vec![main_object.to_string()];
    descend(main, objects, &mut path, &mut visiting, &mut found);
    found
}

fn descend(
    functions: &[Function],
    objects: &Objects,
    path: &mut Vec<String>,
    visiting: &mut Vec<String>,
    found: &mut Nested,
) {
    if path.len() >= MAX_DEPTH {
        return;
    }
    for function in functions {
        if found.visits >= MAX_VISITS {
            found.truncated = true;
            return;
        }
        found.visits += 1;
        let required: Vec<String> = function
            .required_args()
            .map(|argument| argument.cli_name.clone())
            .collect();
        let here = || {
            let mut segments = path.clone();
            segments.push(function.cli_name.clone());
            segments.join(":")
        };
        if !path.is_empty() {
            // The main object's own checks and generators are the caller's.
            if function.check {
                if required.is_empty() {
                    found.checks.push(here());
                } else {
                    found.skipped_checks.push((here(), required.clone()));
                }
            }
            if function.generate && required.is_empty() {
                found.generators.push(here());
            }
        }
        if !required.is_empty() || function.check {
            continue;
        }
        let returned = object_name(&function.returns);
        let Some(child) = objects.get(returned) else {
            continue;
        };
        if visiting.iter().any(|seen| seen == returned) {
            continue;
        }
        path.push(function.cli_name.clone());
        visiting.push(returned.to_string());
        descend(child, objects, path, visiting, found);
        visiting.pop();
        path.pop();
    }
}

/// The object a return type names: `Foo`, `Foo!`, `"Foo"` (a Python forward reference) or
/// `Promise<Foo>` are all `Foo`.
fn object_name(returns: &str) -> &str {
    let name = returns.trim();
    let name = name
        .strip_prefix("Promise<")
        .and_then(|inner| inner.strip_suffix('>'))
        .unwrap_or(name);
    name.trim_end_matches('!').trim_matches(['"', '\''])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(name: &str, returns: &str) -> Function {
        Function {
            name: name.to_string(),
            cli_name: crate::scan::names::cli_name(name),
            check: false,
            generate: false,
            doc: None,
            returns: returns.to_string(),
            args: Vec::new(),
        }
    }

    fn check(name: &str) -> Function {
        Function {
            check: true,
            ..function(name, "Void")
        }
    }

    fn required(mut function: Function, argument: &str) -> Function {
        function
            .args
            .push(crate::scan::test_support::argument(argument, "String"));
        function
    }

    #[test]
    fn names_checks_below_the_main_object_by_their_path() {
        let main = vec![
            check("Lint"),
            function("Python312", "TestForPythonVersion"),
            function("Python313", "TestForPythonVersion"),
            function("Version", "String"),
        ];
        let mut objects = Objects::new();
        objects.insert(
            "TestForPythonVersion".to_string(),
            vec![check("Unit"), check("Slow"), function("Run", "Void")],
        );
        let found = nested("PythonClientDev", &main, &objects);
        assert_eq!(
            found.checks,
            [
                "python-312:unit",
                "python-312:slow",
                "python-313:unit",
                "python-313:slow"
            ]
        );
        assert!(found.generators.is_empty());
    }

    #[test]
    fn a_web_of_objects_returning_each_other_is_walked_within_a_budget() {
        // Twelve objects whose twelve functions each return another: 12^8 paths without a cap.
        let names: Vec<String> = (0..12).map(|index| format!("Node{index}")).collect();
        let functions: Vec<Function> = names
            .iter()
            .map(|name| function(&format!("to{name}"), name))
            .chain([check("Lint")])
            .collect();
        let objects: Objects = names
            .iter()
            .map(|name| (name.clone(), functions.clone()))
            .collect();
        let started = std::time::Instant::now();
        let found = nested("Main", &functions, &objects);
        assert!(found.truncated);
        assert!(!found.checks.is_empty());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn follows_only_argument_free_functions_and_stops_at_cycles() {
        let main = vec![
            function("Checks", "Promise<Checks>"),
            required(function("Suite", "Checks"), "name"),
            function("WithVersion", "Main"),
        ];
        let mut objects = Objects::new();
        objects.insert(
            "Checks".to_string(),
            vec![
                check("formatFull"),
                required(check("lintOne"), "path"),
                function("again", "Checks"),
                function("parent", "Main"),
                Function {
                    generate: true,
                    ..function("lockfile", "Changeset")
                },
            ],
        );
        objects.insert("Main".to_string(), vec![check("Top")]);
        let found = nested("Main", &main, &objects);
        assert_eq!(found.checks, ["checks:format-full"]);
        assert_eq!(found.generators, ["checks:lockfile"]);
        assert_eq!(
            found.skipped_checks,
            [("checks:lint-one".to_string(), vec!["path".to_string()])]
        );
    }
}
