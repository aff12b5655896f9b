//! Which tasks a run looks at: all, the named ones, or by whole-name patterns.

/// Which tasks to decode: all (`*` or no `--task`), the named ones, or by patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    All,
    Named(Vec<String>),
    /// `--task-match` / `--task-ignore`, with any `--task` names.
    Patterns(Patterns),
}

/// A task is selected when it is named or matches an include pattern (every task when
/// there is neither), and matches no exclude pattern. Patterns match the whole name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patterns {
    pub names: Vec<String>,
    pub include: Vec<Pattern>,
    pub exclude: Vec<Pattern>,
}

/// A regular expression anchored at both ends (`^(?:…)$`), compared by its text.
#[derive(Debug, Clone)]
pub struct Pattern(regex::Regex);

impl Pattern {
    pub fn new(text: &str) -> Result<Pattern, String> {
        regex::Regex::new(&format!("^(?:{text})$"))
            .map(Pattern)
            .map_err(|e| {
                let first = e.to_string();
                let first = first.lines().last().unwrap_or("").trim().to_string();
                format!("invalid task pattern '{text}': {first}")
            })
    }

    pub fn matches(&self, name: &str) -> bool {
        self.0.is_match(name)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

impl Selection {
    pub fn from_names(names: &[String]) -> Selection {
        if names.is_empty() || names.iter().any(|n| n == "*") {
            Selection::All
        } else {
            Selection::Named(names.to_vec())
        }
    }

    pub fn wants(&self, name: &str) -> bool {
        match self {
            Selection::All => true,
            Selection::Named(names) => names.iter().any(|n| n == name),
            Selection::Patterns(p) => {
                let included = (p.names.is_empty() && p.include.is_empty())
                    || p.names.iter().any(|n| n == name)
                    || p.include.iter().any(|r| r.matches(name));
                included && !p.exclude.iter().any(|r| r.matches(name))
            }
        }
    }

    /// The names that must exist (a missing one is CRITICAL).
    pub(crate) fn named(&self) -> &[String] {
        match self {
            Selection::All => &[],
            Selection::Named(names) => names,
            Selection::Patterns(p) => &p.names,
        }
    }
}
