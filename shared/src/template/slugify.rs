//! `slugify`: python-slugify's algorithm and options, as Kluctl's `| slugify` filter calls it.
//!
//! Input: text plus [`SlugifyOptions`]; output: the slug (`"Hello World!"` → `"hello-world"`).
//! Transliteration uses `deunicode` where python-slugify uses `text-unidecode`; both map to the
//! same ASCII for the Latin, Greek and Cyrillic text slugs are normally made of.

use regex::Regex;
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization as _;

/// python-slugify's keyword arguments.
#[derive(Clone, Debug)]
pub struct SlugifyOptions {
    /// Replace named HTML entities (`&amp;`).
    pub entities: bool,
    /// Replace decimal character references (`&#233;`).
    pub decimal: bool,
    /// Replace hexadecimal character references (`&#xe9;`).
    pub hexadecimal: bool,
    /// Cut to this many characters (0 = no limit).
    pub max_length: usize,
    /// Cut at whole words only.
    pub word_boundary: bool,
    /// Joins words.
    pub separator: String,
    /// With `word_boundary`, stop at the first word that does not fit.
    pub save_order: bool,
    /// Words to drop.
    pub stopwords: Vec<String>,
    /// Characters matching this pattern become separators (default: anything but `-a-zA-Z0-9`).
    pub regex_pattern: Option<String>,
    /// Lowercase the result.
    pub lowercase: bool,
    /// `(old, new)` replacements applied before and after.
    pub replacements: Vec<(String, String)>,
    /// Keep Unicode letters instead of transliterating them.
    pub allow_unicode: bool,
}

impl Default for SlugifyOptions {
    fn default() -> Self {
        SlugifyOptions {
            entities: true,
            decimal: true,
            hexadecimal: true,
            max_length: 0,
            word_boundary: false,
            separator: "-".to_string(),
            save_order: false,
            stopwords: Vec::new(),
            regex_pattern: None,
            lowercase: true,
            replacements: Vec::new(),
            allow_unicode: false,
        }
    }
}

static DECIMAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"&#(\d+);").expect("valid regex"));
static HEX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"&#x([\da-fA-F]+);").expect("valid regex"));
static ENTITY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"&([a-zA-Z0-9]+);").expect("valid regex"));
static NUMBERS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(\d),(\d)").expect("valid regex"));
static DISALLOWED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[^-a-zA-Z0-9]+").expect("valid regex"));
static DISALLOWED_UNICODE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\W_]+").expect("valid regex"));
static DUPLICATE_DASH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"-{2,}").expect("valid regex"));

/// The HTML entities worth knowing in names and labels (a subset of Python's `name2codepoint`).
const ENTITIES: &[(&str, u32)] = &[
    ("amp", 38),
    ("lt", 60),
    ("gt", 62),
    ("quot", 34),
    ("nbsp", 160),
    ("copy", 169),
    ("reg", 174),
    ("trade", 8482),
    ("euro", 8364),
    ("pound", 163),
    ("yen", 165),
    ("cent", 162),
    ("deg", 176),
    ("plusmn", 177),
    ("times", 215),
    ("divide", 247),
    ("sect", 167),
    ("para", 182),
    ("middot", 183),
    ("hellip", 8230),
    ("mdash", 8212),
    ("ndash", 8211),
    ("laquo", 171),
    ("raquo", 187),
    ("auml", 228),
    ("ouml", 246),
    ("uuml", 252),
    ("Auml", 196),
    ("Ouml", 214),
    ("Uuml", 220),
    ("szlig", 223),
    ("eacute", 233),
    ("egrave", 232),
    ("aacute", 225),
    ("agrave", 224),
];

/// Makes a slug.
pub fn slugify(text: &str, opts: &SlugifyOptions) -> Result<String, String> {
    let mut text = text.to_string();
    for (old, new) in &opts.replacements {
        text = text.replace(old, new);
    }
    text = text.replace('\'', "-");
    text = if opts.allow_unicode {
        text.nfkc().collect()
    } else {
        deunicode::deunicode(&text.nfkd().collect::<String>())
    };
    if opts.entities {
        text = ENTITY
            .replace_all(&text, |c: &regex::Captures| {
                ENTITIES
                    .iter()
                    .find(|(n, _)| *n == &c[1])
                    .and_then(|(_, cp)| char::from_u32(*cp))
                    .map_or_else(|| c[0].to_string(), |ch| ch.to_string())
            })
            .into_owned();
    }
    if opts.decimal {
        text = DECIMAL
            .replace_all(&text, |c: &regex::Captures| {
                c[1].parse::<u32>()
                    .ok()
                    .and_then(char::from_u32)
                    .map_or_else(|| c[0].to_string(), |ch| ch.to_string())
            })
            .into_owned();
    }
    if opts.hexadecimal {
        text = HEX
            .replace_all(&text, |c: &regex::Captures| {
                u32::from_str_radix(&c[1], 16)
                    .ok()
                    .and_then(char::from_u32)
                    .map_or_else(|| c[0].to_string(), |ch| ch.to_string())
            })
            .into_owned();
    }
    text = if opts.allow_unicode {
        text.nfkc().collect()
    } else {
        text.nfkd().collect()
    };
    if opts.lowercase {
        text = text.to_lowercase();
    }
    text = text.replace('\'', "");
    // Python removes a comma between digits with a look-around; repeat for "1,000,000".
    loop {
        let next = NUMBERS.replace_all(&text, "$1$2").into_owned();
        if next == text {
            break;
        }
        text = next;
    }
    text = match &opts.regex_pattern {
        Some(p) => Regex::new(p)
            .map_err(|e| format!("slugify: invalid regex_pattern {p:?}: {e}"))?
            .replace_all(&text, "-")
            .into_owned(),
        None if opts.allow_unicode => DISALLOWED_UNICODE.replace_all(&text, "-").into_owned(),
        None => DISALLOWED.replace_all(&text, "-").into_owned(),
    };
    text = DUPLICATE_DASH.replace_all(&text, "-").trim_matches('-').to_string();
    if !opts.stopwords.is_empty() {
        let stop: Vec<String> = if opts.lowercase {
            opts.stopwords.iter().map(|s| s.to_lowercase()).collect()
        } else {
            opts.stopwords.clone()
        };
        text = text
            .split('-')
            .filter(|w| !stop.iter().any(|s| s == w))
            .collect::<Vec<_>>()
            .join("-");
    }
    for (old, new) in &opts.replacements {
        text = text.replace(old, new);
    }
    if opts.max_length > 0 {
        text = smart_truncate(&text, opts.max_length, opts.word_boundary, "-", opts.save_order);
    }
    if opts.separator != "-" {
        text = text.replace('-', &opts.separator);
    }
    Ok(text)
}

fn char_prefix(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn smart_truncate(text: &str, max_length: usize, word_boundary: bool, separator: &str, save_order: bool) -> String {
    let text = text.trim_matches(|c| separator.contains(c));
    if text.chars().count() < max_length {
        return text.to_string();
    }
    if !word_boundary {
        return char_prefix(text, max_length)
            .trim_matches(|c| separator.contains(c))
            .to_string();
    }
    if !text.contains(separator) {
        return char_prefix(text, max_length);
    }
    let mut truncated = String::new();
    for word in text.split(separator).filter(|w| !w.is_empty()) {
        let next_len = truncated.chars().count() + word.chars().count();
        if next_len < max_length {
            truncated.push_str(word);
            truncated.push_str(separator);
        } else if next_len == max_length {
            truncated.push_str(word);
            break;
        } else if save_order {
            break;
        }
    }
    if truncated.is_empty() {
        truncated = char_prefix(text, max_length);
    }
    truncated.trim_matches(|c| separator.contains(c)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(s: &str) -> String {
        slugify(s, &SlugifyOptions::default()).unwrap()
    }

    #[test]
    fn matches_python_slugify_on_common_input() {
        // Expected values come from python-slugify 9.2.0.
        assert_eq!(
            slug("Hello World & Friends &amp; caf&#233; Über 1,000"),
            "hello-world-friends-cafe-uber-1000"
        );
        assert_eq!(slug("a_b c"), "a-b-c");
        assert_eq!(slug("straße"), "strasse");
        assert_eq!(slug("  --prod--cluster_01  "), "prod-cluster-01");
        let unicode = SlugifyOptions {
            allow_unicode: true,
            ..Default::default()
        };
        assert_eq!(slugify("Ünïcödé テスト", &unicode).unwrap(), "ünïcödé-テスト");
    }

    #[test]
    fn options_truncate_and_separate() {
        let opts = SlugifyOptions {
            max_length: 9,
            word_boundary: true,
            separator: "_".to_string(),
            ..Default::default()
        };
        assert_eq!(slugify("one two three", &opts).unwrap(), "one_two");
        let stop = SlugifyOptions {
            stopwords: vec!["the".to_string()],
            ..Default::default()
        };
        assert_eq!(slugify("The quick fox", &stop).unwrap(), "quick-fox");
    }
}
