//! The README's transcripts stay true: every ```text block that starts with
//! `$ gradrd …` is run (from the project root, on the shipped data) and its
//! output must be the block's remaining lines, byte for byte; a line `…`
//! stands for lines left out (the pieces between must appear in order). A
//! trailing `\` continues the command on the next line; arguments split at
//! spaces, single quotes keep theirs.

use std::path::Path;

use assert_cmd::Command;

/// `(command arguments, expected output)` of each transcript.
fn transcripts(readme: &str) -> Vec<(Vec<String>, String)> {
    let mut found = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line != "```text" {
            continue;
        }
        let block: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        let Some(first) = block.first().and_then(|l| l.strip_prefix("$ gradrd ")) else {
            continue;
        };
        let mut command = first.to_string();
        let mut rest = block[1..].iter();
        while command.ends_with('\\') {
            command.pop();
            command.push_str(rest.next().expect("a continued command goes on").trim());
        }
        let output: String = rest.map(|l| format!("{l}\n")).collect();
        found.push((split(&command), output));
    }
    found
}

/// Splits at spaces; `'…'` is one argument without its quotes.
fn split(command: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in command.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    args.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        args.push(current);
    }
    args
}

#[test]
fn the_readme_transcripts_are_what_gradrd_prints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let cases = transcripts(&readme);
    assert!(cases.len() >= 3, "{} transcripts", cases.len());
    for (args, expected) in cases {
        let out = Command::cargo_bin("gradrd")
            .unwrap()
            .current_dir(root)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "gradrd {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8_lossy(&out.stdout);
        if expected.contains("…\n") {
            let mut from = 0;
            for piece in expected.split("…\n").filter(|p| !p.is_empty()) {
                match printed[from..].find(piece) {
                    Some(at) => from += at + piece.len(),
                    None => panic!("gradrd {args:?}: {piece:?} not in order in {printed}"),
                }
            }
        } else {
            assert_eq!(printed, expected, "gradrd {args:?}");
        }
    }
}

#[test]
fn continued_and_quoted_commands_split_as_a_shell_would() {
    let cases =
        transcripts("```text\n$ gradrd fit d --tensor 'a b' \\\n    --bits 2,3\nout\n```\n");
    assert_eq!(
        cases,
        vec![(
            ["fit", "d", "--tensor", "a b", "--bits", "2,3"]
                .map(String::from)
                .to_vec(),
            "out\n".to_string()
        )]
    );
}
