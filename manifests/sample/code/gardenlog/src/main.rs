//! gardenlog: summarise a plain-text garden journal.
//!
//! Usage: gardenlog JOURNAL.txt [--bed N]

mod journal;

use std::env;
use std::fs;
use std::process::ExitCode;

use journal::{harvest_totals, parse, Action, Entry};

struct Options {
    path: String,
    bed: Option<u32>,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut path = None;
    let mut bed = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--bed" => {
                let value = args.get(i + 1).ok_or("--bed needs a number")?;
                bed = Some(value.parse().map_err(|_| format!("not a bed number: {value}"))?);
                i += 2;
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            other => {
                path = Some(other.to_string());
                i += 1;
            }
        }
    }
    let path = path.ok_or("usage: gardenlog JOURNAL.txt [--bed N]")?;
    Ok(Options { path, bed })
}

fn describe(entry: &Entry) -> String {
    let verb = match entry.action {
        Action::Sow => "sown",
        Action::Plant => "planted",
        Action::Harvest => "harvested",
        Action::Note => "noted",
    };
    match entry.quantity {
        Some(q) => format!("{} {} {} ({})", entry.date, entry.crop, verb, q),
        None => format!("{} {} {}", entry.date, entry.crop, verb),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let options = match parse_args(&args) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let text = match fs::read_to_string(&options.path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {}: {e}", options.path);
            return ExitCode::from(2);
        }
    };
    let entries = match parse(&text) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("{}: {e}", options.path);
            return ExitCode::FAILURE;
        }
    };
    let selected: Vec<Entry> = entries
        .into_iter()
        .filter(|e| options.bed.map_or(true, |b| e.bed == Some(b)))
        .collect();
    for entry in &selected {
        println!("{}", describe(entry));
    }
    println!();
    println!("harvest totals:");
    for (crop, total) in harvest_totals(&selected) {
        println!("  {crop:<20} {total:>6}");
    }
    ExitCode::SUCCESS
}
