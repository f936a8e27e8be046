//! The shape of the source, checked: modules depend only on lower ones, SQL and rusqlite
//! live in `db/` alone (and so does handing out a connection), and no function grows past
//! 60 lines. These read `src/` as text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// Every `.rs` file under `src/`, with its text.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(SRC), &mut out);
    out.sort();
    out
}

/// The top-level module a file belongs to (`src/http/tasks.rs` → `http`).
fn module_of(path: &Path) -> String {
    let relative = path.strip_prefix(SRC).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

/// The code of a file without its `#[cfg(test)]` module (tests may reach anywhere) and
/// without comments (a doc link is not a dependency).
fn without_tests(text: &str) -> String {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Which top-level modules each one uses (`crate::name`), tests aside.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let uses = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources() {
        let module = module_of(&path);
        let entry = graph.entry(module.clone()).or_default();
        for found in uses.captures_iter(&without_tests(&text)) {
            if found[1] != module {
                entry.insert(found[1].to_owned());
            }
        }
    }
    graph
}

#[test]
fn modules_only_depend_on_lower_ones() {
    let graph = dependencies();
    let mut cycles = Vec::new();
    for (module, used) in &graph {
        for other in used {
            if reaches(&graph, other, module, &mut BTreeSet::new()) {
                cycles.push(format!("{module} -> {other} -> ... -> {module}"));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
    assert!(
        graph["main"].len() <= 3,
        "main.rs stays thin: {:?}",
        graph["main"]
    );
}

fn reaches(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> bool {
    if from == to {
        return true;
    }
    if !seen.insert(from.to_owned()) {
        return false;
    }
    graph
        .get(from)
        .is_some_and(|next| next.iter().any(|n| reaches(graph, n, to, seen)))
}

#[test]
fn sql_and_rusqlite_live_in_db() {
    let sql = regex::Regex::new(
        r#""[^"]*\b(SELECT .* FROM|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|CREATE (TABLE|INDEX))\b"#,
    )
    .unwrap();
    let mut outside = Vec::new();
    for (path, text) in sources() {
        if module_of(&path) == "db" {
            continue;
        }
        for (number, line) in without_tests(&text).lines().enumerate() {
            if line.contains("rusqlite") || sql.is_match(line) {
                outside.push(format!(
                    "{}:{}: {}",
                    path.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        outside.is_empty(),
        "SQL or rusqlite outside src/db: {outside:#?}"
    );
}

/// `unsafe` is denied by the lint and allowed in `src/memory.rs` alone; this holds the
/// allowance there.
#[test]
fn unsafe_code_lives_in_memory_alone() {
    let mut outside = Vec::new();
    for (path, text) in sources() {
        let code = without_tests(&text);
        if module_of(&path) != "memory"
            && (code.contains("unsafe ") || code.contains("unsafe_code"))
        {
            outside.push(path.display().to_string());
        }
    }
    assert!(
        outside.is_empty(),
        "unsafe code outside src/memory.rs: {outside:#?}"
    );
}

/// The database's doors (`Db::call`, `Db::write` and `write_tx`, which hand out a
/// connection) stay visible inside `db/` only: the rest of the server calls `Db`'s domain
/// methods, so every transaction is written where its SQL is. The compiler holds callers
/// to the visibility; this holds the visibility.
#[test]
fn only_db_opens_connections() {
    let text = std::fs::read_to_string(Path::new(SRC).join("db/mod.rs")).unwrap();
    for door in ["async fn call<", "async fn write<", "fn write_tx<"] {
        let declaration = text
            .lines()
            .find(|line| line.contains(door))
            .unwrap_or_else(|| panic!("src/db/mod.rs declares `{door}`"));
        assert!(
            declaration.trim_start().starts_with("pub(in crate::db) "),
            "`{door}` is for db/ alone: {declaration}"
        );
    }
}

#[test]
fn no_function_is_longer_than_60_lines() {
    let start =
        regex::Regex::new(r"^\s*(pub(\([a-z]+\))? )?(const )?(async )?fn [a-z_0-9]+").unwrap();
    let mut long = Vec::new();
    for (path, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            if !start.is_match(line) {
                continue;
            }
            if let Some(length) = body_length(&lines[index..])
                && length > 60
            {
                long.push(format!(
                    "{}:{} is {length} lines",
                    path.display(),
                    index + 1
                ));
            }
        }
    }
    assert!(long.is_empty(), "functions over 60 lines: {long:#?}");
}

/// Lines from a function's signature to its closing brace (`None` for a declaration
/// without a body). Braces in strings and chars are rare enough in signatures and bodies
/// of this code base to count them plainly, minus those inside literals.
fn body_length(lines: &[&str]) -> Option<usize> {
    let mut depth = 0i64;
    let mut opened = false;
    for (count, line) in lines.iter().enumerate() {
        let code = strip_literals(line);
        if !opened && code.trim_end().ends_with(';') && !code.contains('{') {
            return None;
        }
        for c in code.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        if opened && depth == 0 {
            return Some(count + 1);
        }
    }
    None
}

/// The line without string and char literals and comments.
fn strip_literals(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '/' if chars.peek() == Some(&'/') => break,
            '\'' => {
                // A char literal ('{', '\'') or a lifetime ('a): skip a literal only.
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with('\\') || rest.chars().nth(1) == Some('\'') {
                    for skipped in chars.by_ref() {
                        if skipped == '\'' {
                            break;
                        }
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}
