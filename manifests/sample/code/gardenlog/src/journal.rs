//! Parsing of journal lines such as `2024-04-02 sow broad-beans bed=3 qty=40`.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Sow,
    Plant,
    Harvest,
    Note,
}

impl Action {
    fn parse(word: &str) -> Option<Action> {
        match word {
            "sow" => Some(Action::Sow),
            "plant" => Some(Action::Plant),
            "harvest" => Some(Action::Harvest),
            "note" => Some(Action::Note),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub date: String,
    pub action: Action,
    pub crop: String,
    pub bed: Option<u32>,
    pub quantity: Option<u32>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

pub fn parse_line(line_no: usize, line: &str) -> Result<Option<Entry>, ParseError> {
    let line = line.split('#').next().unwrap_or("").trim();
    if line.is_empty() {
        return Ok(None);
    }
    let err = |message: &str| ParseError { line: line_no, message: message.to_string() };
    let mut words = line.split_whitespace();
    let date = words.next().ok_or_else(|| err("missing date"))?;
    if !looks_like_date(date) {
        return Err(err("date must look like YYYY-MM-DD"));
    }
    let action = words
        .next()
        .and_then(Action::parse)
        .ok_or_else(|| err("action must be sow, plant, harvest or note"))?;
    let crop = words.next().ok_or_else(|| err("missing crop"))?.to_string();
    let mut entry = Entry { date: date.to_string(), action, crop, bed: None, quantity: None };
    for word in words {
        let (key, value) = word.split_once('=').ok_or_else(|| err("expected key=value"))?;
        let number: u32 = value.parse().map_err(|_| err("value must be a whole number"))?;
        match key {
            "bed" => entry.bed = Some(number),
            "qty" => entry.quantity = Some(number),
            _ => return Err(err("unknown key (use bed= or qty=)")),
        }
    }
    Ok(Some(entry))
}

pub fn parse(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(entry) = parse_line(i + 1, line)? {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// Total harvested quantity per crop, sorted by crop name.
pub fn harvest_totals(entries: &[Entry]) -> BTreeMap<String, u32> {
    let mut totals = BTreeMap::new();
    for e in entries.iter().filter(|e| e.action == Action::Harvest) {
        *totals.entry(e.crop.clone()).or_insert(0) += e.quantity.unwrap_or(0);
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_line() {
        let e = parse_line(1, "2024-04-02 sow broad-beans bed=3 qty=40").unwrap().unwrap();
        assert_eq!(e.action, Action::Sow);
        assert_eq!(e.bed, Some(3));
        assert_eq!(e.quantity, Some(40));
    }

    #[test]
    fn skips_comments_and_blank_lines() {
        assert_eq!(parse_line(1, "   # only a comment").unwrap(), None);
    }

    #[test]
    fn rejects_bad_dates() {
        assert!(parse_line(7, "April sow peas").is_err());
    }

    #[test]
    fn sums_harvests_per_crop() {
        let entries = parse("2024-06-01 harvest peas qty=2\n2024-06-08 harvest peas qty=3\n").unwrap();
        assert_eq!(harvest_totals(&entries).get("peas"), Some(&5));
    }
}
