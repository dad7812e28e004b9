//! `firewatch assess`: the national map of cyber defence services after ITU-T X.1060 (issue 21,
//! docs/x1060.md). Catalogues and assessments go into the store as documents; every view is
//! computed here from the stored assessment by `firewatch-assess`.

use crate::charts::{GridChart, write_file_atomically, write_grid_png};
use crate::output::{json, json_times, table};
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use firewatch_assess::svg::{difference_fill, difference_svg, heatmap_svg, score_fill};
use firewatch_assess::{
    About, Assessment, AssessmentFormat, Catalogue, CatalogueFormat, Comparison, GapOptions,
    GapStatus, Granularity, Heatmap, Row, compare, concentration, gaps, heatmap, split,
};
use firewatch_core::TlpLevel;
use firewatch_pipeline::Context;
use firewatch_store::{Backend, StoredAssessment, StoredCatalogue};
use jiff::civil::Date;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum AssessCommand {
    /// The service catalogue assessments are checked against: the built-in one (the nine
    /// categories and 27 of the 64 services, ids and short names only) or one you import.
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// Import a country's (or organisation's) assessment, replacing the one stored for its
    /// scope. JPCERT/CC's matrix CSV loads as it is; also a one-cell-a-line CSV and JSON.
    /// A file with any error is refused whole, with its line and why, and the stored
    /// assessment stays as it was.
    #[command(after_help = "Examples:\n  \
        firewatch assess import jp.csv --scope JP --assessed-by JPCERT/CC --source \"SG17 workshop\" --tlp clear\n  \
        firewatch assess import acme-cells.csv --scope \"ACME Corp\" --assessed-on 2026-11-02 --tlp amber\n  \
        firewatch assess import us.json\n\n\
        Matrix CSV (one row per category or service, a column per stakeholder kind, empty = no part):\n  \
        category,category_name,NCSC,National CSIRTs,PSIRT,...\n  \
        H,Support of internal fraud response,,,,...\n\
        Cells CSV: item,kind,score,target,delivery,assessed_by,assessed_on,source")]
    Import(ImportArgs),
    /// The stored assessments, one line each.
    #[command(after_help = "Examples:\n  firewatch assess list\n  firewatch assess list --json")]
    List(JsonArgs),
    /// A scope's heatmap: categories (or services) × stakeholder kinds, the score now and
    /// `→target` where one is set; `-` is no part, distinct from 0 (a part, nothing carried).
    #[command(
        after_help = "Examples:\n  firewatch assess show JP\n  firewatch assess show JP --services\n  firewatch assess show US --json\n  firewatch assess show JP --evidence"
    )]
    Show(ShowArgs),
    /// Rows nobody carries (uncovered) or only weakly (strongest score below --weak-below),
    /// most severe first: severity = weight × (10 − strongest) / 10.
    #[command(
        after_help = "Examples:\n  firewatch assess gaps JP\n  firewatch assess gaps JP --weak-below 8 --weight G=2\n  firewatch assess gaps SG --services --json"
    )]
    Gaps(GapsArgs),
    /// Concentration per row: the top carrier's share and the Herfindahl–Hirschman index
    /// (1/n for n equal carriers, 1.0 for one kind alone).
    #[command(
        after_help = "Examples:\n  firewatch assess concentration SG\n  firewatch assess concentration US --json"
    )]
    Concentration(ViewArgs),
    /// The public, private and academic sectors' shares of each row and of the whole map.
    #[command(
        after_help = "Examples:\n  firewatch assess split US\n  firewatch assess split JP --json"
    )]
    Split(ViewArgs),
    /// Two scopes side by side: per cell the difference B − A (no part counted as 0; `-` where
    /// neither has a part).
    #[command(
        after_help = "Examples:\n  firewatch assess compare JP US\n  firewatch assess compare JP SG --json"
    )]
    Compare(CompareArgs),
    /// Write a stored assessment out: JSON (everything), the one-cell-a-line CSV, or the
    /// matrix CSV (scores now only). Each reads back with `assess import`.
    #[command(
        after_help = "Examples:\n  firewatch assess export JP > jp.json\n  firewatch assess export JP --format csv > jp-cells.csv\n  firewatch assess export JP --format matrix > jp-matrix.csv"
    )]
    Export(ExportArgs),
    /// Draw a scope's heatmap, or with a second scope the difference map (B − A), as SVG or
    /// PNG. No part is hatched grey, never the colour of 0. On failure no file is written.
    #[command(
        after_help = "Examples:\n  firewatch assess plot JP --out jp.svg\n  firewatch assess plot JP US --out jp-us.png"
    )]
    Plot(PlotArgs),
    /// Remove a scope's assessment from the store.
    #[command(after_help = "Example:\n  firewatch assess remove XX")]
    Remove(RemoveArgs),
    /// The crosswalk between X.1060 and the FIRST CSIRT Services Framework 2.1: without SCOPE
    /// the mapping table (X.1060 category or service, relation, FIRST service); with SCOPE the
    /// scope's map read FIRST service by FIRST service (the X.1060 cells mapped to each, their
    /// scores per stakeholder kind), and the FIRST services no X.1060 cell covers. The built-in
    /// crosswalk is Firewatch's own reading of the two public service lists; bring yours with
    /// --map, a newer FIRST edition (MISP's galaxy JSON) with --first.
    #[command(
        after_help = "Examples:\n  firewatch assess crosswalk\n  firewatch assess crosswalk JP\n  firewatch assess crosswalk JP --json\n  firewatch assess crosswalk --tsv > my-map.tsv\n  firewatch assess crosswalk JP --map my-map.tsv --first first-csirt-services-framework.json\n\nMap TSV (relation: equivalent, part-of, includes, related; read \"the X.1060 item ... the FIRST service\"):\n  x1060\tfirst\trelation\tnote\n  D-1\tinformation-security-incident-report-acceptance\tequivalent\tthe same service"
    )]
    Crosswalk(CrosswalkArgs),
}

#[derive(Debug, Subcommand)]
pub enum CatalogueCommand {
    /// Import a fuller catalogue you are entitled to (the full 64 of X.1060 Annex A, or a
    /// revised edition): TSV or CSV with columns id, category, name[, source] (a `# version:`
    /// comment names it), or JSON {"version", "services": [...]}. Checked whole: ids unique
    /// and of the form A-1, each in the category its letter names; an error names its line.
    #[command(
        after_help = "Examples:\n  firewatch assess catalogue import x1060-annex-a.tsv\n  firewatch assess catalogue import sg-services.json --scope SG\n\nTSV:\n  # version: X.1060 (06/2021) Annex A, our transcription\n  id\tcategory\tname\tsource\n  A-1\tA\tRisk management\tX.1060 Annex A"
    )]
    Import {
        /// The catalogue file (.tsv, .csv or .json).
        file: PathBuf,
        /// Only for this scope's assessments (otherwise for every scope without its own).
        #[arg(long, value_name = "SCOPE")]
        scope: Option<String>,
        /// The file's format (otherwise told by its extension or a leading `{`).
        #[arg(long, value_enum)]
        format: Option<CatalogueFileFormat>,
    },
    /// The catalogue in force: categories and the services known.
    #[command(
        after_help = "Examples:\n  firewatch assess catalogue show\n  firewatch assess catalogue show --scope SG --json"
    )]
    Show {
        /// The catalogue that checks this scope's assessments.
        #[arg(long, value_name = "SCOPE")]
        scope: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A catalogue file's format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CatalogueFileFormat {
    Tsv,
    Csv,
    Json,
}

/// An assessment file's format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportFormat {
    /// JPCERT/CC's matrix: a row per category or service, a column per stakeholder kind.
    Matrix,
    /// One cell a line: item,kind,score[,target,delivery,assessed_by,assessed_on,source].
    Cells,
    /// The JSON `assess export` writes.
    Json,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The assessment file (CSV or JSON).
    pub file: PathBuf,
    /// The country (ISO 3166 code, e.g. JP) or organisation assessed; a JSON file may carry
    /// its own. A two-letter scope is upper-cased.
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,
    /// Who assessed it.
    #[arg(long, value_name = "WHO")]
    pub assessed_by: Option<String>,
    /// When it was assessed (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub assessed_on: Option<Date>,
    /// From what: a report, a workshop, a survey.
    #[arg(long, value_name = "TEXT")]
    pub source: Option<String>,
    /// Who may read it: clear, green, amber, amber+strict or red (none reads as red).
    #[arg(long, value_name = "TLP", value_parser = parse_tlp)]
    pub tlp: Option<TlpLevel>,
    /// The file's format (otherwise told from its text: `{` is JSON, a `kind` column cells).
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,
    /// The directory team that owns it: its users read it on the web at TLP:AMBER and
    /// AMBER+STRICT (without an owner nobody does there).
    #[arg(long, value_name = "TEAM")]
    pub owner: Option<String>,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ViewArgs {
    /// The country or organisation.
    pub scope: String,
    /// Rows of services instead of categories.
    #[arg(long)]
    pub services: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub view: ViewArgs,
    /// Also what Firewatch measures of the country beside the claimed scores of B, D and I:
    /// notices to its teams, telescope coverage, its teams' memberships and contacts.
    #[arg(long)]
    pub evidence: bool,
}

#[derive(Debug, Args)]
pub struct GapsArgs {
    #[command(flatten)]
    pub view: ViewArgs,
    /// A row whose strongest score is below this is weak.
    #[arg(long, value_name = "SCORE", default_value_t = 5.0)]
    pub weak_below: f64,
    /// Weigh a category's gaps (default 1): LETTER=WEIGHT, e.g. G=2; repeatable.
    #[arg(long, value_name = "LETTER=WEIGHT", value_parser = parse_weight)]
    pub weight: Vec<(char, f64)>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first scope (A, the left side).
    pub left: String,
    /// The second scope (B): differences are B − A.
    pub right: String,
    /// Rows of services instead of categories.
    #[arg(long)]
    pub services: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// Everything, including who assessed it and its TLP.
    Json,
    /// One cell a line, with targets, delivery and per-cell provenance.
    Csv,
    /// JPCERT/CC's matrix of the scores now.
    Matrix,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The country or organisation.
    pub scope: String,
    /// What to write.
    #[arg(long, value_enum, default_value = "json")]
    pub format: ExportFormat,
    /// The matrix's rows are services instead of categories.
    #[arg(long)]
    pub services: bool,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The scope to draw (A when comparing).
    pub scope: String,
    /// A second scope: draw the difference B − A.
    pub other: Option<String>,
    /// The chart file; .svg or .png.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Rows of services instead of categories.
    #[arg(long)]
    pub services: bool,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The country or organisation.
    pub scope: String,
}

#[derive(Debug, Args)]
pub struct CrosswalkArgs {
    /// The country or organisation whose stored map to read through the crosswalk (without:
    /// the mapping table).
    pub scope: Option<String>,
    /// The FIRST framework from this MISP galaxy JSON (first-csirt-services-framework.json)
    /// instead of the built-in edition.
    #[arg(long, value_name = "FILE")]
    pub first: Option<PathBuf>,
    /// The crosswalk from this TSV (x1060, first, relation[, note]) instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print the crosswalk in force as TSV (the format --map reads), to start your own from.
    #[arg(long, conflicts_with_all = ["json", "scope"])]
    pub tsv: bool,
}

fn parse_tlp(text: &str) -> Result<TlpLevel, String> {
    text.parse::<TlpLevel>().map_err(|_| {
        format!("{text:?} is not a TLP level: give clear, green, amber, amber+strict or red")
    })
}

fn parse_weight(text: &str) -> Result<(char, f64), String> {
    let bad = || format!("{text:?}: give a category letter and a weight, e.g. G=2");
    let (letter, weight) = text.split_once('=').ok_or_else(bad)?;
    let mut chars = letter.trim().chars();
    let (Some(letter), None) = (chars.next(), chars.next()) else {
        return Err(bad());
    };
    let weight: f64 = weight.trim().parse().map_err(|_| bad())?;
    if !letter.is_ascii_alphabetic() || !weight.is_finite() || weight < 0.0 {
        return Err(bad());
    }
    Ok((letter.to_ascii_uppercase(), weight))
}

/// A scope as the store keys it: trimmed, a two-letter country code upper-cased.
fn scope_of(text: &str) -> String {
    let scope = text.trim();
    if scope.len() == 2 && scope.bytes().all(|b| b.is_ascii_alphabetic()) {
        scope.to_ascii_uppercase()
    } else {
        scope.to_owned()
    }
}

fn granularity(services: bool) -> Granularity {
    if services {
        Granularity::Services
    } else {
        Granularity::Categories
    }
}

/// The catalogue that checks `scope`'s assessments: its own, else the one for every scope,
/// else the built-in one.
fn catalogue_for(
    store: &dyn Backend,
    scope: Option<&str>,
) -> Result<(Catalogue, Option<StoredCatalogue>)> {
    firewatch_pipeline::assess::catalogue_for(store, scope)
}

/// A stored assessment, read back, with the catalogue of its scope.
struct Loaded {
    stored: StoredAssessment,
    assessment: Assessment,
    catalogue: Catalogue,
}

fn load(store: &dyn Backend, scope: &str) -> Result<Loaded> {
    let scope = scope_of(scope);
    let loaded = firewatch_pipeline::assess::load_assessment(store, &scope)?.ok_or_else(|| {
        anyhow!(
            "no assessment of {scope:?} in the store. hint: `firewatch assess list` lists those stored; `firewatch assess import FILE --scope {scope}` adds one"
        )
    })?;
    Ok(Loaded {
        stored: loaded.stored,
        assessment: loaded.assessment,
        catalogue: loaded.catalogue,
    })
}

impl Loaded {
    fn heatmap(&self, services: bool) -> Heatmap {
        heatmap(&self.assessment, &self.catalogue, granularity(services))
    }
}

/// A stored assessment's metadata as JSON: times in RFC 3339 UTC, no document.
fn metadata_json(stored: &StoredAssessment) -> Result<Value> {
    let mut value = serde_json::to_value(stored)?;
    if let Some(o) = value.as_object_mut() {
        o.remove("document");
    }
    Ok(json_times(value, &["imported_at"], &[]))
}

/// A score as the matrices write it: whole numbers plain, means to one decimal.
fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn signed(value: f64) -> String {
    if value > 0.0 {
        format!("+{}", number(value))
    } else {
        number(value)
    }
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "-".to_owned(), |s| format!("{:.1}%", 100.0 * s))
}

/// A row's name cut to fit a table.
fn row_name(row: &Row) -> String {
    let name = row.name.as_deref().unwrap_or("");
    if name.chars().count() > 34 {
        format!("{}…", name.chars().take(33).collect::<String>())
    } else {
        name.to_owned()
    }
}

/// The headers of a rows × kinds table.
fn grid_headers(kinds: &[firewatch_assess::StakeholderKind]) -> Vec<&'static str> {
    ["ID", "NAME"]
        .into_iter()
        .chain(kinds.iter().map(|k| k.as_str()))
        .collect()
}

pub fn run(ctx: &Context, cmd: &AssessCommand) -> Result<ExitCode> {
    match cmd {
        AssessCommand::Catalogue(CatalogueCommand::Import {
            file,
            scope,
            format,
        }) => catalogue_import(ctx, file, scope.as_deref(), *format),
        AssessCommand::Catalogue(CatalogueCommand::Show { scope, json }) => {
            catalogue_show(ctx, scope.as_deref(), *json)
        }
        AssessCommand::Import(args) => import(ctx, args),
        AssessCommand::List(args) => list(ctx, args.json),
        AssessCommand::Show(args) if args.evidence => show_evidence(ctx, &args.view),
        AssessCommand::Show(args) => show(ctx, &args.view),
        AssessCommand::Gaps(args) => gaps_view(ctx, args),
        AssessCommand::Concentration(args) => concentration_view(ctx, args),
        AssessCommand::Split(args) => split_view(ctx, args),
        AssessCommand::Compare(args) => compare_view(ctx, args),
        AssessCommand::Export(args) => export(ctx, args),
        AssessCommand::Plot(args) => plot(ctx, args),
        AssessCommand::Remove(args) => {
            let scope = scope_of(&args.scope);
            if !ctx.store()?.remove_assessment(&scope)? {
                bail!("no assessment of {scope:?} in the store; nothing removed");
            }
            outln!("removed the assessment of {scope}");
            Ok(ExitCode::SUCCESS)
        }
        AssessCommand::Crosswalk(args) => crosswalk_cmd(ctx, args),
    }
}

/// A file's text, its name in the error.
fn read_text(file: &Path) -> Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{}: byte {}: not UTF-8 text; save the file as UTF-8 (CSV or JSON)",
            file.display(),
            e.utf8_error().valid_up_to() + 1
        )
    })
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn catalogue_import(
    ctx: &Context,
    file: &Path,
    scope: Option<&str>,
    format: Option<CatalogueFileFormat>,
) -> Result<ExitCode> {
    let text = read_text(file)?;
    let format = match format {
        Some(CatalogueFileFormat::Tsv) => CatalogueFormat::Tsv,
        Some(CatalogueFileFormat::Csv) => CatalogueFormat::Csv,
        Some(CatalogueFileFormat::Json) => CatalogueFormat::Json,
        None if text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('{') =>
        {
            CatalogueFormat::Json
        }
        None if file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv")) =>
        {
            CatalogueFormat::Csv
        }
        None => CatalogueFormat::Tsv,
    };
    let scope = scope.map(scope_of);
    let mut store = ctx.store()?;
    store.check_writable()?;
    let catalogue = Catalogue::import(&text, format).map_err(|e| {
        anyhow!(
            "{}: {e}; nothing was imported, the catalogue in force stays",
            file.display()
        )
    })?;
    let services = catalogue.services().len();
    store.replace_catalogue(&StoredCatalogue {
        scope: scope.clone(),
        version: catalogue.version.clone(),
        services: services as u64,
        origin: file.display().to_string(),
        imported_at: now(),
        document: catalogue.to_tsv(),
    })?;
    outln!(
        "imported catalogue {:?}: {services} services in {} categories from {}, for {}",
        catalogue.version,
        catalogue.categories().len(),
        file.display(),
        scope.map_or_else(|| "every scope".to_owned(), |s| format!("{s} only"))
    );
    Ok(ExitCode::SUCCESS)
}

fn catalogue_show(ctx: &Context, scope: Option<&str>, as_json: bool) -> Result<ExitCode> {
    let store = ctx.store()?;
    let scope = scope.map(scope_of);
    let (catalogue, stored) = catalogue_for(store.as_ref(), scope.as_deref())?;
    if as_json {
        let mut value = serde_json::to_value(&catalogue)?;
        if let Some(o) = value.as_object_mut() {
            o.insert("built_in".into(), Value::Bool(stored.is_none()));
            if let Some(stored) = &stored {
                o.insert("scope".into(), serde_json::to_value(&stored.scope)?);
                o.insert("origin".into(), Value::String(stored.origin.clone()));
                o.insert("imported_at".into(), Value::from(stored.imported_at));
            }
        }
        json(&json_times(value, &["imported_at"], &[]))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "catalogue {:?} ({}): {} categories, {} services",
        catalogue.version,
        stored.as_ref().map_or_else(
            || "built in".to_owned(),
            |s| format!("imported from {}", s.origin)
        ),
        catalogue.categories().len(),
        catalogue.services().len()
    );
    let mut rows = Vec::new();
    for category in catalogue.categories() {
        rows.push(vec![
            category.id.to_string(),
            category.name.clone(),
            String::new(),
        ]);
        for service in catalogue.services_in(category.id) {
            rows.push(vec![
                format!("  {}", service.id),
                service.name.clone(),
                service.source.clone().unwrap_or_default(),
            ]);
        }
    }
    table(&["ID", "NAME", "SOURCE"], rows);
    Ok(ExitCode::SUCCESS)
}

fn import(ctx: &Context, args: &ImportArgs) -> Result<ExitCode> {
    let file = &args.file;
    let text = read_text(file)?;
    let format = match args.format {
        Some(ImportFormat::Matrix) => AssessmentFormat::Matrix,
        Some(ImportFormat::Cells) => AssessmentFormat::Cells,
        Some(ImportFormat::Json) => AssessmentFormat::Json,
        None => AssessmentFormat::sniff(&text),
    };
    // The scope picks the catalogue, so it is needed before the import: the flag, else what
    // a JSON file says.
    let scope = match (&args.scope, format) {
        (Some(scope), _) => scope_of(scope),
        (None, AssessmentFormat::Json) => serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["about"]["scope"].as_str().map(scope_of))
            .unwrap_or_default(),
        (None, _) => String::new(),
    };
    if scope.is_empty() {
        bail!(
            "{}: whose assessment is it? hint: give --scope, e.g. --scope JP (a country code) or --scope \"ACME Corp\"",
            file.display()
        );
    }
    let mut store = ctx.store()?;
    store.check_writable()?;
    let (catalogue, _) = catalogue_for(store.as_ref(), Some(&scope))?;
    let given = About {
        scope: scope.clone(),
        assessed_by: args.assessed_by.clone(),
        assessed_on: args.assessed_on,
        source: args.source.clone(),
        tlp: args.tlp,
    };
    let before = store.assessment(&scope)?;
    let mut assessment = Assessment::import(&text, format, &catalogue, &given).map_err(|e| {
        anyhow!(
            "{}: {e}; nothing was imported{}",
            file.display(),
            if before.is_some() {
                format!(", the stored assessment of {scope} is unchanged")
            } else {
                String::new()
            }
        )
    })?;
    // What the command line says wins over what a JSON file carries.
    assessment.about = given.or(&assessment.about);
    let about = &assessment.about;
    let format_name = match format {
        AssessmentFormat::Matrix => "matrix",
        AssessmentFormat::Cells => "cells",
        AssessmentFormat::Json => "json",
    };
    let stored = StoredAssessment {
        scope: scope.clone(),
        assessed_by: about.assessed_by.clone(),
        assessed_on: about.assessed_on.map(|d| d.to_string()),
        source: about.source.clone(),
        tlp: about.tlp.map(|t| t.as_str().to_owned()),
        owner: args.owner.clone(),
        catalogue_version: catalogue.version.clone(),
        cells: assessment.cells.len() as u64,
        format: format_name.to_owned(),
        origin: file.display().to_string(),
        imported_at: now(),
        document: assessment.export(AssessmentFormat::Json, &catalogue, Granularity::Categories),
    };
    store.replace_assessment(&stored)?;
    outln!(
        "{} the assessment of {scope}: {} cells from {} ({format_name}, catalogue {:?})",
        if before.is_some() {
            "replaced"
        } else {
            "imported"
        },
        stored.cells,
        file.display(),
        catalogue.version
    );
    if stored.tlp.is_none() {
        eprintln!(
            "hint: no TLP given, so it reads as {}; --tlp clear marks it publishable",
            TlpLevel::Red.label()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn list(ctx: &Context, as_json: bool) -> Result<ExitCode> {
    let stored = ctx.store()?.assessments()?;
    if as_json {
        let rows = stored
            .iter()
            .map(metadata_json)
            .collect::<Result<Vec<_>>>()?;
        json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    table(
        &[
            "SCOPE",
            "CELLS",
            "ASSESSED BY",
            "ON",
            "SOURCE",
            "TLP",
            "CATALOGUE",
            "IMPORTED",
            "FROM",
        ],
        stored
            .iter()
            .map(|a| {
                vec![
                    a.scope.clone(),
                    a.cells.to_string(),
                    a.assessed_by.clone().unwrap_or_default(),
                    a.assessed_on.clone().unwrap_or_default(),
                    a.source.clone().unwrap_or_default(),
                    a.tlp
                        .as_deref()
                        .and_then(|t| t.parse::<TlpLevel>().ok())
                        .map_or("", TlpLevel::label)
                        .to_owned(),
                    a.catalogue_version.clone(),
                    crate::output::s_time(a.imported_at),
                    a.origin.clone(),
                ]
            })
            .collect(),
    );
    Ok(ExitCode::SUCCESS)
}

fn show(ctx: &Context, args: &ViewArgs) -> Result<ExitCode> {
    let loaded = load(ctx.store()?.as_ref(), &args.scope)?;
    let map = loaded.heatmap(args.services);
    if args.json {
        let mut value = metadata_json(&loaded.stored)?;
        if let Some(o) = value.as_object_mut() {
            o.insert("heatmap".into(), serde_json::to_value(&map)?);
        }
        json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    let s = &loaded.stored;
    outln!(
        "{}: {} × stakeholder kinds{}{}{}",
        s.scope,
        map.granularity.as_str(),
        s.assessed_by
            .as_deref()
            .map(|b| format!(", assessed by {b}"))
            .unwrap_or_default(),
        s.assessed_on
            .as_deref()
            .map(|d| format!(" on {d}"))
            .unwrap_or_default(),
        s.tlp
            .as_deref()
            .and_then(|t| t.parse::<TlpLevel>().ok())
            .map(|t| format!(" ({})", t.label()))
            .unwrap_or_default(),
    );
    let rows = map
        .rows
        .iter()
        .enumerate()
        .map(|(r, row)| {
            let mut line = vec![row.item.to_string(), row_name(row)];
            line.extend(map.row_cells(r).iter().map(|c| {
                let now = c.score.map_or_else(|| "-".to_owned(), number);
                match c.target {
                    Some(target) => format!("{now}→{}", number(target)),
                    None => now,
                }
            }));
            line
        })
        .collect();
    table(&grid_headers(&map.kinds), rows);
    outln!("scores 0–10 now (→ target where set); - = no part, 0 = a part carrying nothing yet");
    Ok(ExitCode::SUCCESS)
}

/// `assess show --evidence`: the heatmap, then what Firewatch measured of the scope's country
/// (B, D and I; see `firewatch_pipeline::evidence`) beside the claimed scores; with `--json`
/// one object, `show --json`'s with an `evidence` member.
fn show_evidence(ctx: &Context, args: &ViewArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    let loaded = load(store.as_ref(), &args.scope)?;
    let Some(country) = firewatch_pipeline::evidence::country_of(&loaded.stored.scope) else {
        bail!(
            "{}: Firewatch measures countries; this scope is not a country code. hint: drop --evidence",
            loaded.stored.scope
        );
    };
    let e = firewatch_pipeline::evidence::measure(store.as_ref(), &country, now())?;
    if args.json {
        let mut value = metadata_json(&loaded.stored)?;
        if let Some(o) = value.as_object_mut() {
            o.insert(
                "heatmap".into(),
                serde_json::to_value(loaded.heatmap(args.services))?,
            );
            let mut evidence = json_times(serde_json::to_value(&e)?, &["measured_at"], &[]);
            if let Some(b) = evidence.get_mut("real_time_analysis") {
                *b = json_times(b.take(), &["first_packet", "last_packet"], &[]);
            }
            o.insert("evidence".into(), evidence);
        }
        json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    show(ctx, args)?;
    let map = loaded.heatmap(false);
    let claimed = |letter: char| {
        map.rows
            .iter()
            .position(|r| r.item.to_string() == letter.to_string())
            .map(|r| {
                map.row_cells(r)
                    .iter()
                    .filter_map(|c| c.score.map(|s| format!("{} {}", c.kind, number(s))))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let secs = |s: Option<f64>| s.map_or_else(|| "-".to_owned(), |s| format!("{s:.0}s"));
    let (d, b, i) = (
        &e.incident_response,
        &e.real_time_analysis,
        &e.external_relations,
    );
    outln!("\nmeasured by Firewatch for {country}:");
    table(
        &["CATEGORY", "CLAIMED", "MEASURED"],
        vec![
            vec![
                "B real-time analysis".into(),
                claimed('B'),
                format!(
                    "{} captures, span {}, newest data {} old; {} sources, {} alerts in {country}",
                    b.captures,
                    secs(b.span_secs.map(|s| s as f64)),
                    secs(b.last_data_age_secs.map(|s| s as f64)),
                    b.sources,
                    b.alerts
                ),
            ],
            vec![
                "D incident response".into(),
                claimed('D'),
                format!(
                    "{} notices ({} sent, {} queued, {} failed); queued to sent: median {}, p90 {}",
                    d.notices,
                    d.sent,
                    d.queued,
                    d.failed,
                    secs(d.median_secs),
                    secs(d.p90_secs)
                ),
            ],
            vec![
                "D as parties to cases".into(),
                String::new(),
                format!(
                    "{} parties in {} cases, {} acknowledged, {} done; to acknowledge: median {}, p90 {}; to done: median {}, p90 {}",
                    e.cases.parties,
                    e.cases.cases,
                    e.cases.acknowledged,
                    e.cases.resolved,
                    secs(e.cases.acknowledge_median_secs),
                    secs(e.cases.acknowledge_p90_secs),
                    secs(e.cases.resolve_median_secs),
                    secs(e.cases.resolve_p90_secs)
                ),
            ],
            vec![
                "I external relations".into(),
                claimed('I'),
                format!(
                    "{} teams, {} contacts; memberships: {}",
                    i.teams.len(),
                    i.contacts,
                    i.memberships
                        .iter()
                        .map(|(m, n)| format!("{m} ({n})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ],
        ],
    );
    for n in &e.not_measured {
        outln!("{}: {}: {}", n.category, n.what, n.why);
    }
    Ok(ExitCode::SUCCESS)
}

fn gaps_view(ctx: &Context, args: &GapsArgs) -> Result<ExitCode> {
    let loaded = load(ctx.store()?.as_ref(), &args.view.scope)?;
    let map = loaded.heatmap(args.view.services);
    let options = GapOptions {
        weak_below: args.weak_below,
        weights: args.weight.iter().copied().collect(),
    };
    let found = gaps(&map, &options);
    if args.view.json {
        json(&found)?;
        return Ok(ExitCode::SUCCESS);
    }
    if found.is_empty() {
        outln!(
            "no gaps in {}: every {} has a kind scoring at least {}",
            loaded.stored.scope,
            if args.view.services {
                "service"
            } else {
                "category"
            },
            number(args.weak_below)
        );
        return Ok(ExitCode::SUCCESS);
    }
    table(
        &[
            "ID",
            "NAME",
            "STATUS",
            "STRONGEST",
            "BY",
            "CARRIERS",
            "WEIGHT",
            "SEVERITY",
        ],
        found
            .iter()
            .map(|g| {
                vec![
                    g.row.item.to_string(),
                    row_name(&g.row),
                    match g.status {
                        GapStatus::Uncovered => "uncovered",
                        GapStatus::Weak => "weak",
                    }
                    .to_owned(),
                    g.strongest.map_or_else(|| "-".to_owned(), number),
                    g.strongest_kind.map_or("", |k| k.as_str()).to_owned(),
                    g.carriers.to_string(),
                    number(g.weight),
                    format!("{:.2}", g.severity),
                ]
            })
            .collect(),
    );
    Ok(ExitCode::SUCCESS)
}

fn concentration_view(ctx: &Context, args: &ViewArgs) -> Result<ExitCode> {
    let loaded = load(ctx.store()?.as_ref(), &args.scope)?;
    let rows = concentration(&loaded.heatmap(args.services));
    if args.json {
        json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    table(
        &[
            "ID",
            "NAME",
            "TOTAL",
            "CARRIERS",
            "TOP",
            "TOP SHARE",
            "HHI",
            "AS EQUAL CARRIERS",
        ],
        rows.iter()
            .map(|c| {
                vec![
                    c.row.item.to_string(),
                    row_name(&c.row),
                    number(c.total),
                    c.carriers.to_string(),
                    c.top_kind.map_or("-", |k| k.as_str()).to_owned(),
                    percent(c.top_share),
                    c.hhi.map_or_else(|| "-".to_owned(), |h| format!("{h:.3}")),
                    c.effective_carriers
                        .map_or_else(|| "-".to_owned(), |n| format!("{n:.1}")),
                ]
            })
            .collect(),
    );
    Ok(ExitCode::SUCCESS)
}

fn split_view(ctx: &Context, args: &ViewArgs) -> Result<ExitCode> {
    let loaded = load(ctx.store()?.as_ref(), &args.scope)?;
    let found = split(&loaded.heatmap(args.services));
    if args.json {
        json(&found)?;
        return Ok(ExitCode::SUCCESS);
    }
    let line = |id: String, name: String, s: &firewatch_assess::SectorShares| {
        vec![
            id,
            name,
            number(s.total),
            percent(s.public),
            percent(s.private),
            percent(s.academic),
        ]
    };
    let mut rows: Vec<Vec<String>> = found
        .rows
        .iter()
        .map(|r| line(r.row.item.to_string(), row_name(&r.row), &r.shares))
        .collect();
    rows.push(line("all".into(), "the whole map".into(), &found.overall));
    table(
        &["ID", "NAME", "POINTS", "PUBLIC", "PRIVATE", "ACADEMIC"],
        rows,
    );
    Ok(ExitCode::SUCCESS)
}

fn comparison(ctx: &Context, left: &str, right: &str, services: bool) -> Result<Comparison> {
    let store = ctx.store()?;
    let left = load(store.as_ref(), left)?;
    let right = load(store.as_ref(), right)?;
    Ok(compare(&left.heatmap(services), &right.heatmap(services))?)
}

fn compare_view(ctx: &Context, args: &CompareArgs) -> Result<ExitCode> {
    let diff = comparison(ctx, &args.left, &args.right, args.services)?;
    if args.json {
        json(&diff)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} − {}: per cell the difference (no part counted as 0)",
        diff.right,
        diff.left
    );
    let width = diff.kinds.len();
    let rows = diff
        .rows
        .iter()
        .enumerate()
        .map(|(r, row)| {
            let mut line = vec![row.item.to_string(), row_name(row)];
            line.extend(
                diff.cells
                    .get(r * width..(r + 1) * width)
                    .unwrap_or(&[])
                    .iter()
                    .map(|c| c.difference.map_or_else(|| "-".to_owned(), signed)),
            );
            line
        })
        .collect();
    table(&grid_headers(&diff.kinds), rows);
    outln!(
        "- = neither has a part; `assess compare ... --json` gives both scores beside each difference"
    );
    Ok(ExitCode::SUCCESS)
}

fn export(ctx: &Context, args: &ExportArgs) -> Result<ExitCode> {
    let loaded = load(ctx.store()?.as_ref(), &args.scope)?;
    let (format, comment) = match args.format {
        ExportFormat::Json => (AssessmentFormat::Json, false),
        ExportFormat::Csv => (AssessmentFormat::Cells, true),
        ExportFormat::Matrix => (AssessmentFormat::Matrix, true),
    };
    if comment {
        // A CSV carries no metadata: say it in comments (imports read over `#` lines).
        let a = &loaded.assessment.about;
        outln!("# X.1060 assessment of {}", a.scope);
        for (name, value) in [
            ("assessed_by", a.assessed_by.clone()),
            ("assessed_on", a.assessed_on.map(|d| d.to_string())),
            ("source", a.source.clone()),
            ("tlp", a.tlp.map(|t| t.label().to_owned())),
        ] {
            if let Some(value) = value {
                outln!("# {name}: {}", value.replace(['\n', '\r'], " "));
            }
        }
    }
    out!(
        "{}",
        loaded
            .assessment
            .export(format, &loaded.catalogue, granularity(args.services))
    );
    Ok(ExitCode::SUCCESS)
}

/// A heatmap as a PNG grid.
fn heat_grid(map: &Heatmap) -> GridChart {
    GridChart {
        title: format!("X.1060 services: {}", map.scope),
        rows: map.rows.iter().map(grid_row_label).collect(),
        columns: map.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        cells: map
            .cells
            .iter()
            .map(|c| c.score.map(|s| (score_fill(s), number(s))))
            .collect(),
        legend: "score 0 (lightest) to 10 (darkest); hatched grey: no part".to_owned(),
    }
}

/// A comparison as a PNG grid.
fn difference_grid(diff: &Comparison) -> GridChart {
    GridChart {
        title: format!(
            "X.1060 services: {} compared with {}",
            diff.right, diff.left
        ),
        rows: diff.rows.iter().map(grid_row_label).collect(),
        columns: diff.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        cells: diff
            .cells
            .iter()
            .map(|c| c.difference.map(|d| (difference_fill(d), signed(d))))
            .collect(),
        legend: format!(
            "{} − {}: red less, blue more (no part counted as 0); hatched grey: neither has a part",
            diff.right, diff.left
        ),
    }
}

fn grid_row_label(row: &Row) -> String {
    match &row.name {
        Some(name) => format!("{} {name}", row.item),
        None => row.item.to_string(),
    }
}

fn plot(ctx: &Context, args: &PlotArgs) -> Result<ExitCode> {
    let out = &args.out;
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let png = match ext.as_deref() {
        Some("svg") => false,
        Some("png") => true,
        _ => bail!(
            "{}: the chart's file name must end in .svg or .png",
            out.display()
        ),
    };
    match &args.other {
        None => {
            let loaded = load(ctx.store()?.as_ref(), &args.scope)?;
            let map = loaded.heatmap(args.services);
            if png {
                write_grid_png(out, &heat_grid(&map))?;
            } else {
                write_file_atomically(out, heatmap_svg(&map).as_bytes())?;
            }
        }
        Some(other) => {
            let diff = comparison(ctx, &args.scope, other, args.services)?;
            if png {
                write_grid_png(out, &difference_grid(&diff))?;
            } else {
                write_file_atomically(out, difference_svg(&diff).as_bytes())?;
            }
        }
    }
    outln!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// `assess crosswalk`: the mapping table, or a scope's map FIRST service by FIRST service.
fn crosswalk_cmd(ctx: &Context, args: &CrosswalkArgs) -> Result<ExitCode> {
    use firewatch_assess::{Crosswalk, Framework, crosswalk_view, mapping};
    let framework = match &args.first {
        Some(file) => Framework::import(&read_text(file)?)
            .map_err(|e| anyhow!("{}: {e}; the FIRST framework was not read", file.display()))?,
        None => Framework::builtin(),
    };
    let store = ctx.store()?;
    let loaded = args
        .scope
        .as_deref()
        .map(|scope| load(store.as_ref(), scope))
        .transpose()?;
    let catalogue = match &loaded {
        Some(loaded) => loaded.catalogue.clone(),
        None => catalogue_for(store.as_ref(), None)?.0,
    };
    let crosswalk = match &args.map {
        Some(file) => Crosswalk::import(&read_text(file)?, &catalogue, &framework).map_err(|e| {
            anyhow!(
                "{}: {e}; the crosswalk was not read (checked against catalogue {:?} and FIRST framework {:?})",
                file.display(),
                catalogue.version,
                framework.version
            )
        })?,
        // Ours names only the built-in catalogue's services: check it against that one.
        None => Crosswalk::import(Crosswalk::builtin_tsv(), &Catalogue::builtin(), &framework)
            .map_err(|e| {
                anyhow!(
                    "the built-in crosswalk does not fit the FIRST framework {:?}: {e}. hint: write your own (`firewatch assess crosswalk --tsv` is a start) and pass it with --map",
                    framework.version
                )
            })?,
    };
    if args.tsv {
        out!("{}", crosswalk.to_tsv());
        return Ok(ExitCode::SUCCESS);
    }
    let area_name = |id: &str| {
        framework
            .area(id)
            .map_or_else(|| id.to_owned(), |a| a.name.clone())
    };
    let Some(loaded) = loaded else {
        let table_rows = mapping(&crosswalk, &catalogue, &framework);
        if args.json {
            json(&table_rows)?;
            return Ok(ExitCode::SUCCESS);
        }
        outln!(
            "crosswalk {:?}: X.1060 catalogue {:?} ↔ FIRST {:?}, {} links",
            crosswalk.version,
            catalogue.version,
            framework.version,
            crosswalk.links.len()
        );
        table(
            &[
                "FIRST AREA",
                "FIRST SERVICE",
                "RELATION",
                "X.1060",
                "X.1060 NAME",
            ],
            table_rows
                .rows
                .iter()
                .map(|r| {
                    vec![
                        area_name(&r.area),
                        r.first.clone(),
                        r.relation.to_string(),
                        r.x1060.to_string(),
                        r.x1060_name.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        );
        if !table_rows.first_unmapped.is_empty() {
            outln!(
                "FIRST services no X.1060 item maps to: {}",
                table_rows.first_unmapped.join(", ")
            );
        }
        if !table_rows.x1060_unmapped.is_empty() {
            let items: Vec<String> = table_rows
                .x1060_unmapped
                .iter()
                .map(ToString::to_string)
                .collect();
            outln!(
                "X.1060 items mapped to no FIRST service: {}",
                items.join(", ")
            );
        }
        return Ok(ExitCode::SUCCESS);
    };
    let view = crosswalk_view(&loaded.assessment, &crosswalk, &framework, &catalogue);
    if args.json {
        json(&view)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} through crosswalk {:?} (FIRST {:?}): per FIRST service the X.1060 items mapped to it and who scores what",
        loaded.stored.scope,
        view.crosswalk,
        view.framework
    );
    let mut rows = Vec::new();
    for service in &view.services {
        let head = vec![
            area_name(&service.area),
            service.first.clone(),
            service.coverage.as_str().to_owned(),
            service.strongest.map_or_else(|| "-".to_owned(), number),
        ];
        if service.mapped.is_empty() {
            let none = vec![String::new(), String::new(), "-".to_owned()];
            rows.push([head.clone(), none].concat());
        }
        for (i, mapped) in service.mapped.iter().enumerate() {
            let scores = if mapped.scores.is_empty() {
                "-".to_owned()
            } else {
                mapped
                    .scores
                    .iter()
                    .map(|s| {
                        let score = s.score.map_or_else(|| "-".to_owned(), number);
                        match s.target {
                            Some(t) => format!("{} {score}→{}", s.kind.as_str(), number(t)),
                            None => format!("{} {score}", s.kind.as_str()),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let lead = if i == 0 {
                head.clone()
            } else {
                vec![String::new(); head.len()]
            };
            rows.push(
                [
                    lead,
                    vec![mapped.item.to_string(), mapped.relation.to_string(), scores],
                ]
                .concat(),
            );
        }
    }
    table(
        &[
            "FIRST AREA",
            "FIRST SERVICE",
            "COVERAGE",
            "STRONGEST",
            "X.1060",
            "RELATION",
            "SCORES (kind score→target)",
        ],
        rows,
    );
    if !view.not_covered.is_empty() {
        outln!(
            "FIRST services no X.1060 cell covers (unmapped, uncovered or related only): {}",
            view.not_covered.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::{number, parse_weight, scope_of, signed};

    #[test]
    fn scopes_weights_and_numbers() {
        assert_eq!(scope_of(" jp "), "JP");
        assert_eq!(scope_of("ACME Corp"), "ACME Corp");
        assert_eq!(parse_weight("g=2"), Ok(('G', 2.0)));
        assert!(parse_weight("GG=2").is_err());
        assert!(parse_weight("G").is_err());
        assert_eq!(number(10.0), "10");
        assert_eq!(number(6.5), "6.5");
        assert_eq!(signed(1.0), "+1");
        assert_eq!(signed(-5.0), "-5");
        assert_eq!(signed(0.0), "0");
    }
}
