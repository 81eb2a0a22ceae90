//! The bordered two-column tables of Kluctl's text output (`Path | Diff`, `Object | Message`).

use anstyle::Style;

/// A table: the first row is the header. Cells may span several lines.
pub(super) struct Table {
    pub(super) rows: Vec<Vec<String>>,
}

impl Table {
    /// Renders the table. `limits` caps the width of the leading columns (Kluctl caps the first
    /// at 60); the last column takes what is left of `width`, but no more than it needs. Long
    /// lines wrap. `style` may colour a line of a cell (given its column and text).
    pub(super) fn render(
        &self,
        limits: &[usize],
        width: usize,
        style: &dyn Fn(usize, &str) -> Option<Style>,
    ) -> String {
        let cols = self.rows.first().map_or(0, Vec::len);
        if cols == 0 {
            return String::new();
        }
        let cells: Vec<Vec<Vec<String>>> = self
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|cell| cell.replace('\t', "    ").split('\n').map(str::to_string).collect())
                    .collect()
            })
            .collect();
        let natural = |col: usize| {
            cells
                .iter()
                .flat_map(|row| row[col].iter())
                .map(|line| line.chars().count())
                .max()
                .unwrap_or(0)
                .max(1)
        };
        let mut widths: Vec<usize> = (0..cols).map(natural).collect();
        for (w, limit) in widths.iter_mut().zip(limits) {
            *w = (*w).min(*limit);
        }
        let used: usize = widths[..cols - 1].iter().sum::<usize>() + (cols - 1) * 3 + 4;
        widths[cols - 1] = widths[cols - 1].min(width.saturating_sub(used).max(1));

        let separator = format!(
            "+-{}-+\n",
            widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-")
        );
        let mut out = separator.clone();
        for row in &cells {
            let wrapped: Vec<Vec<String>> = row.iter().zip(&widths).map(|(lines, w)| wrap(lines, *w)).collect();
            let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
            for line in 0..height {
                out.push('|');
                for (col, cell) in wrapped.iter().enumerate() {
                    let text = cell.get(line).map(String::as_str).unwrap_or("");
                    let pad = " ".repeat(widths[col] - text.chars().count());
                    match style(col, text) {
                        Some(s) if !text.is_empty() => {
                            out.push_str(&format!(" {}{text}{}{pad} |", s.render(), s.render_reset()))
                        }
                        _ => out.push_str(&format!(" {text}{pad} |")),
                    }
                }
                out.push('\n');
            }
            out.push_str(&separator);
        }
        out
    }
}

/// Cuts lines longer than `width` into pieces (Kluctl cuts hard, without hyphenation).
fn wrap(lines: &[String], width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            out.push(String::new());
        }
        out.extend(chars.chunks(width.max(1)).map(|c| c.iter().collect::<String>()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_kluctls_bordered_layout_with_wrapping() {
        let t = Table {
            rows: vec![
                vec!["Path".into(), "Diff".into()],
                vec!["spec.replicas".into(), "-1\n+3".into()],
                vec!["a".repeat(70), "x".into()],
            ],
        };
        let out = t.render(&[60], 120, &|_, _| None);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], format!("+-{}-+-{}-+", "-".repeat(60), "-".repeat(4)));
        assert_eq!(lines[1], format!("| Path{} | Diff |", " ".repeat(56)));
        assert_eq!(lines[3], format!("| spec.replicas{} | -1   |", " ".repeat(47)));
        assert_eq!(lines[4], format!("| {} | +3   |", " ".repeat(60)));
        // The 70-character path wraps onto two lines of the first column.
        assert_eq!(lines[6], format!("| {} | x    |", "a".repeat(60)));
        assert_eq!(lines[7], format!("| {}{} |      |", "a".repeat(10), " ".repeat(50)));
        assert!(lines.iter().all(|l| l.chars().count() == lines[0].chars().count()));
    }

    #[test]
    fn the_last_column_fits_the_width() {
        let t = Table {
            rows: vec![vec!["P".into(), "D".into()], vec!["p".into(), "y".repeat(100)]],
        };
        let out = t.render(&[60], 40, &|_, _| None);
        assert!(out.lines().all(|l| l.chars().count() <= 40), "{out}");
        let styled = t.render(&[60], 40, &|col, _| (col == 1).then(|| Style::new().bold()));
        assert!(styled.contains("\u{1b}["));
    }
}
