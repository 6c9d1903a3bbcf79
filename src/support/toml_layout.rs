//! Writing a TOML file again without losing how a person wrote it: the new content is laid onto
//! the document on disk, so what did not change keeps its comments, order, quoting and layout
//! (inline tables stay inline), a changed value is replaced, a new key or table is added after
//! its siblings, and a key the new content lacks is removed.

use toml_edit::{DocumentMut, Item, TableLike, Value};

/// `wanted` (a whole TOML document) written in the form of `existing`.
pub fn keep_format(existing: &str, wanted: &str) -> Result<String, toml_edit::TomlError> {
    let mut document: DocumentMut = existing.parse()?;
    let target: DocumentMut = wanted.parse()?;
    lay_onto(document.as_table_mut(), target.as_table(), false);
    Ok(document.to_string())
}

/// Lay `wanted` onto `ours`; an inline table that changed is laid out anew (`{ a = 1, b = 2 }`),
/// as the spacing of its old entries would not fit the new ones.
fn lay_onto(ours: &mut dyn TableLike, wanted: &dyn TableLike, inline: bool) {
    let mut changed = false;
    let gone: Vec<String> = ours
        .iter()
        .map(|(key, _)| key.to_owned())
        .filter(|key| wanted.get(key).is_none())
        .collect();
    for key in gone {
        ours.remove(&key);
        changed = true;
    }
    for (key, item) in wanted.iter() {
        if item.is_none() {
            continue;
        }
        if let Some(mine) = ours.get_mut(key) {
            if plain(mine) == plain(item) {
                continue;
            }
            let mine_inline = mine.is_inline_table();
            match (mine.as_table_like_mut(), item.as_table_like()) {
                (Some(mine), Some(theirs)) => lay_onto(mine, theirs, mine_inline),
                _ => {
                    *mine = fresh(item, mine.is_value());
                    changed = true;
                }
            }
        } else {
            ours.insert(key, fresh(item, inline || item.is_value()));
            changed = true;
        }
    }
    if inline && changed {
        ours.fmt();
    }
}

/// `item` as a new part of the document: a table without a place of its own, so it is written
/// after its siblings; a value when it goes where a value stood.
fn fresh(item: &Item, as_value: bool) -> Item {
    let mut item = item.clone();
    if as_value && let Ok(value) = item.clone().into_value() {
        return Item::Value(value);
    }
    clear_positions(&mut item);
    item
}

fn clear_positions(item: &mut Item) {
    match item {
        Item::Table(table) => {
            table.set_position(None);
            for (_, child) in table.iter_mut() {
                clear_positions(child);
            }
        }
        Item::ArrayOfTables(tables) => {
            for table in tables.iter_mut() {
                table.set_position(None);
                for (_, child) in table.iter_mut() {
                    clear_positions(child);
                }
            }
        }
        Item::None | Item::Value(_) => {}
    }
}

/// What an item means, whatever its layout: an inline table and a table with the same content
/// are the same.
fn plain(item: &Item) -> Option<toml::Value> {
    match item {
        Item::None => None,
        Item::Value(value) => Some(plain_value(value)),
        Item::Table(table) => Some(plain_table(table)),
        Item::ArrayOfTables(tables) => Some(toml::Value::Array(
            tables.iter().map(|table| plain_table(table)).collect(),
        )),
    }
}

fn plain_table(table: &dyn TableLike) -> toml::Value {
    toml::Value::Table(
        table
            .iter()
            .filter_map(|(key, item)| Some((key.to_owned(), plain(item)?)))
            .collect(),
    )
}

fn plain_value(value: &Value) -> toml::Value {
    match value {
        Value::String(text) => toml::Value::String(text.value().clone()),
        Value::Integer(number) => toml::Value::Integer(*number.value()),
        Value::Float(number) => toml::Value::Float(*number.value()),
        Value::Boolean(flag) => toml::Value::Boolean(*flag.value()),
        Value::Datetime(when) => toml::Value::Datetime(*when.value()),
        Value::Array(items) => toml::Value::Array(items.iter().map(plain_value).collect()),
        Value::InlineTable(table) => plain_table(table),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERSON: &str = "\
# Our workspace. Keep the Go pin in step with go.mod.
ignore = [\"docs/**\"]

[modules.go]
source = \"github.com/acme/lib/go\" # the team's fork
pin = \"aaa\"
settings = { goVersion = \"1.23\" }   # inline, as written

# Hand-installed; not daggie's.
[modules.lint]
source = './tools/lint'
";

    #[test]
    fn what_did_not_change_keeps_its_comments_and_layout() {
        let wanted = "ignore = [\"docs/**\"]\n\n[modules.go]\nsource = \"github.com/acme/lib/go\"\npin = \"aaa\"\n\n[modules.go.settings]\ngoVersion = \"1.23\"\n\n[modules.lint]\nsource = \"./tools/lint\"\n";
        assert_eq!(keep_format(PERSON, wanted).unwrap(), PERSON);
    }

    #[test]
    fn changed_values_are_replaced_new_ones_added_and_dropped_ones_removed() {
        let wanted = "ignore = [\"docs/**\"]\n\n[modules.go]\nsource = \"github.com/acme/lib/go\"\npin = \"bbb\"\n\n[modules.go.settings]\ngoVersion = \"1.23\"\ncgo = false\n\n[modules.python]\nsource = \"github.com/acme/lib/python\"\ncheck = { skip = [\"lint\"] }\n";
        let text = keep_format(PERSON, wanted).unwrap();
        assert_eq!(
            text,
            "\
# Our workspace. Keep the Go pin in step with go.mod.
ignore = [\"docs/**\"]

[modules.go]
source = \"github.com/acme/lib/go\" # the team's fork
pin = \"bbb\"
settings = { goVersion = \"1.23\", cgo = false }   # inline, as written

[modules.python]
source = \"github.com/acme/lib/python\"
check = { skip = [\"lint\"] }
"
        );
        // What it says is what was wanted.
        assert_eq!(
            toml::from_str::<toml::Value>(&text).unwrap(),
            toml::from_str::<toml::Value>(wanted).unwrap()
        );
    }
}
