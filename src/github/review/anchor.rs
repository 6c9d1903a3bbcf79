//! Re-anchoring a finding on the file at the head commit: exact text at the stated lines, the
//! same text elsewhere, the text ignoring whitespace, then a fuzzy match nearby.

use super::{ANCHOR_WINDOW, Anchor, AnchorFailure, AnchorMethod, FUZZY_THRESHOLD, Finding};

/// Resolve a finding's range in `file_lines` (the file at the head commit).
pub fn anchor(
    file_lines: &[&str],
    start_line: u32,
    end_line: u32,
    original_text: Option<&str>,
) -> Result<Anchor, AnchorFailure> {
    let total = u32::try_from(file_lines.len()).unwrap_or(u32::MAX);
    let original: Vec<&str> = original_text
        .map(|text| text.lines().collect())
        .unwrap_or_default();
    let original_is_blank = original.iter().all(|line| line.trim().is_empty());
    if original.is_empty() || original_is_blank {
        if start_line == 0 || end_line < start_line || end_line > total {
            return Err(AnchorFailure::OutOfRange { lines: total });
        }
        return Ok(Anchor {
            start_line,
            end_line,
            method: AnchorMethod::Unverified,
        });
    }
    let height = original.len();
    let Some(last_start) = file_lines.len().checked_sub(height) else {
        return Err(AnchorFailure::NotFound);
    };
    let make = |start: usize, method| Anchor {
        start_line: start as u32 + 1,
        end_line: (start + height) as u32,
        method,
    };
    let stated = start_line.saturating_sub(1) as usize;
    let window_of = |start: usize| &file_lines[start..start + height];

    let exact = |candidate: &[&str]| {
        candidate
            .iter()
            .zip(&original)
            .all(|(left, right)| left.trim_end_matches('\r') == right.trim_end_matches('\r'))
    };
    if stated <= last_start && exact(window_of(stated)) {
        return Ok(make(stated, AnchorMethod::Exact));
    }
    let positions: Vec<usize> = (0..=last_start)
        .filter(|&start| exact(window_of(start)))
        .collect();
    if let Some(start) = pick_unique(&positions, stated)? {
        return Ok(make(start, AnchorMethod::Moved));
    }

    let squash = |line: &str| line.split_whitespace().collect::<String>();
    let squashed: Vec<String> = original.iter().map(|line| squash(line)).collect();
    let loose = |candidate: &[&str]| {
        candidate
            .iter()
            .zip(&squashed)
            .all(|(left, right)| squash(left) == *right)
    };
    let positions: Vec<usize> = (0..=last_start)
        .filter(|&start| loose(window_of(start)))
        .collect();
    if let Some(start) = pick_unique(&positions, stated)? {
        return Ok(make(start, AnchorMethod::Whitespace));
    }

    let window = ANCHOR_WINDOW as usize;
    let first = stated.saturating_sub(window);
    let last = (stated + window).min(last_start);
    let mut best: Option<(f64, Vec<usize>)> = None;
    for start in first..=last {
        let score = window_of(start)
            .iter()
            .zip(&squashed)
            .map(|(left, right)| similarity(&squash(left), right))
            .sum::<f64>()
            / height as f64;
        if score < FUZZY_THRESHOLD {
            continue;
        }
        match &mut best {
            Some((best_score, starts)) if (score - *best_score).abs() < 1e-9 => starts.push(start),
            Some((best_score, _)) if score < *best_score => {}
            _ => best = Some((score, vec![start])),
        }
    }
    match best {
        Some((_, starts)) if starts.len() == 1 => Ok(make(starts[0], AnchorMethod::Nearby)),
        Some((_, starts)) => Err(AnchorFailure::Ambiguous {
            candidates: starts.iter().map(|start| *start as u32 + 1).collect(),
        }),
        None => Err(AnchorFailure::NotFound),
    }
}

/// One match is taken; among several, the only one within the window of the stated line is;
/// otherwise the choice would be a guess.
fn pick_unique(positions: &[usize], stated: usize) -> Result<Option<usize>, AnchorFailure> {
    match positions {
        [] => Ok(None),
        [only] => Ok(Some(*only)),
        many => {
            let near: Vec<usize> = many
                .iter()
                .copied()
                .filter(|start| start.abs_diff(stated) <= ANCHOR_WINDOW as usize)
                .collect();
            if let [only] = near.as_slice() {
                Ok(Some(*only))
            } else {
                Err(AnchorFailure::Ambiguous {
                    candidates: many.iter().map(|start| *start as u32 + 1).collect(),
                })
            }
        }
    }
}

/// Dice coefficient over the longest common subsequence of characters, in 0..=1.
fn similarity(left: &str, right: &str) -> f64 {
    const LIMIT: usize = 400;
    let left: Vec<char> = left.chars().take(LIMIT).collect();
    let right: Vec<char> = right.chars().take(LIMIT).collect();
    if left.is_empty() && right.is_empty() {
        return 1.0;
    }
    let mut previous = vec![0usize; right.len() + 1];
    let mut current = vec![0usize; right.len() + 1];
    for left_char in &left {
        for (index, right_char) in right.iter().enumerate() {
            current[index + 1] = if left_char == right_char {
                previous[index] + 1
            } else {
                current[index].max(previous[index + 1])
            };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    let common = previous[right.len()];
    2.0 * common as f64 / (left.len() + right.len()) as f64
}

pub(crate) fn describe_anchor(finding: &Finding, anchor: &Anchor) -> String {
    let moved = anchor.start_line != finding.start_line;
    match anchor.method {
        AnchorMethod::Exact => "inside one hunk".to_owned(),
        AnchorMethod::Unverified => {
            "inside one hunk (no quoted code to verify the lines)".to_owned()
        }
        method if moved => format!(
            "inside one hunk, re-anchored from line {} to {} ({})",
            finding.start_line,
            anchor.start_line,
            match method {
                AnchorMethod::Moved => "exact text",
                AnchorMethod::Whitespace => "text ignoring whitespace",
                _ => "nearest similar text",
            }
        ),
        _ => "inside one hunk (matched ignoring whitespace)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "import os\n\ndef load(path):\n    with open(path) as handle:\n        return handle.read()\n\ndef save(path, data):\n    with open(path, 'w') as handle:\n        handle.write(data)\n";

    fn lines() -> Vec<&'static str> {
        FILE.lines().collect()
    }

    #[test]
    fn exact_text_at_the_stated_lines_is_kept() {
        let found = anchor(
            &lines(),
            3,
            4,
            Some("def load(path):\n    with open(path) as handle:"),
        )
        .unwrap();
        assert_eq!(
            (found.start_line, found.end_line, found.method),
            (3, 4, AnchorMethod::Exact)
        );
    }

    #[test]
    fn moved_text_is_found_elsewhere() {
        let found = anchor(&lines(), 1, 1, Some("def save(path, data):")).unwrap();
        assert_eq!(
            (found.start_line, found.end_line, found.method),
            (7, 7, AnchorMethod::Moved)
        );
    }

    #[test]
    fn whitespace_differences_are_tolerated() {
        let found = anchor(&lines(), 8, 8, Some("with open(path,'w')   as handle:")).unwrap();
        assert_eq!(
            (found.start_line, found.method),
            (8, AnchorMethod::Whitespace)
        );
    }

    #[test]
    fn nearby_similar_text_is_used() {
        let found = anchor(&lines(), 7, 7, Some("        handle.write(data) ")).unwrap();
        assert_eq!(found.start_line, 9);
        let found = anchor(&lines(), 6, 6, Some("        return handle.reed()")).unwrap();
        assert_eq!((found.start_line, found.method), (5, AnchorMethod::Nearby));
    }

    #[test]
    fn ambiguous_and_missing_text_is_refused() {
        let repeated = ["x = 1", "a", "x = 1", "b", "x = 1"];
        let failure = anchor(&repeated, 40, 40, Some("x = 1")).unwrap_err();
        assert_eq!(
            failure,
            AnchorFailure::Ambiguous {
                candidates: vec![1, 3, 5]
            }
        );
        assert_eq!(
            anchor(&lines(), 2, 2, Some("completely unrelated text here")).unwrap_err(),
            AnchorFailure::NotFound
        );
        assert_eq!(
            anchor(&lines(), 20, 21, None).unwrap_err(),
            AnchorFailure::OutOfRange { lines: 9 }
        );
        let unverified = anchor(&lines(), 2, 3, None).unwrap();
        assert_eq!(unverified.method, AnchorMethod::Unverified);
    }

    #[test]
    fn quoting_takes_the_stated_lines_of_the_source() {
        let base = Finding {
            path: "a.py".into(),
            start_line: 3,
            end_line: 4,
            replacement: None,
            body: String::new(),
            original_text: None,
        };
        let quoted = base.clone().quoting(FILE);
        assert_eq!(
            quoted.original_text.as_deref(),
            Some("def load(path):\n    with open(path) as handle:")
        );
        let outside = Finding {
            start_line: 9,
            end_line: 12,
            ..base
        }
        .quoting(FILE);
        assert_eq!(outside.original_text, None);
    }
}
